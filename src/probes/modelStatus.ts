/**
 * Whether the models the personas use answer, for `!status`: each backend's model list (GET
 * {base_url}/models, the request `--check` makes), asked at most once per `ttlMs` per backend
 * so a room sending `!status` repeatedly does not become a stream of requests to the server.
 */
import type { BackendConfig } from '../llm/backends.js';
import { CachedCheck } from './CachedCheck.js';
import { listModels, modelIsListed } from './llm.js';
import { describeError } from '../util/describeError.js';

const TIMEOUT_MS = 5000;

export class ModelStatus {
  private readonly checks = new Map<string, CachedCheck>();
  private readonly lists = new Map<string, string[]>();

  constructor(
    private readonly backends: readonly BackendConfig[],
    private readonly ttlMs = 30_000,
    private readonly fetchImpl?: typeof fetch,
  ) {}

  /** Null when `model` is served by the backend; else why not, in words for an admin. */
  async problem(backendName: string, model: string): Promise<string | null> {
    const backend = this.backends.find((b) => b.name === backendName);
    if (!backend) return `no backend named ${backendName}`;
    try {
      await this.check(backend).check();
    } catch (err) {
      return describeError(err);
    }
    const listed = this.lists.get(backend.name) ?? [];
    return modelIsListed(model, listed) ? null : `the server does not list ${model} (it lists ${listed.slice(0, 5).join(', ') || 'no models'})`;
  }

  private check(backend: BackendConfig): CachedCheck {
    let check = this.checks.get(backend.name);
    if (!check) {
      check = new CachedCheck(async () => {
        const models = await listModels(backend.base_url, backend.api_key, { timeoutMs: TIMEOUT_MS, ...(this.fetchImpl ? { fetch: this.fetchImpl } : {}) });
        this.lists.set(backend.name, models);
        return 'ok';
      }, this.ttlMs);
      this.checks.set(backend.name, check);
    }
    return check;
  }
}
