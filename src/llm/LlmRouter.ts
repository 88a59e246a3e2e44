import { DEFAULT_BACKEND, routeModel, type BackendConfig, type ModelRoute } from './backends.js';
import type { ContextBudget } from './contextBudget.js';
import { LlmClient, LlmError, type Completion, type CompletionRequest, type LlmClientOptions, type LlmStats } from './LlmClient.js';

export type RoutedCompletion = Completion & { backend: string };

/**
 * The named LLM backends (llm.backends, or the one llm.base_url): one LlmClient each, with
 * its own concurrency, timeout and context window, and the routing of a persona's `model`
 * setting (`backend/model`, a bare backend name, or a model on the default backend).
 */
export class LlmRouter {
  private readonly clients = new Map<string, LlmClient>();

  constructor(
    readonly backends: readonly BackendConfig[],
    options: (backend: string) => LlmClientOptions = () => ({}),
  ) {
    if (backends.length === 0) throw new Error('LlmRouter needs at least one backend');
    for (const backend of backends) this.clients.set(backend.name, new LlmClient(backend, options(backend.name)));
  }

  route(model: string | null | undefined): ModelRoute {
    return routeModel(model, this.backends);
  }

  /** A `model` setting as people read it: the model on the default backend, else `backend/model`. */
  label(model: string | null | undefined): string {
    const route = this.route(model);
    return route.backend === DEFAULT_BACKEND ? route.model : `${route.backend}/${route.model}`;
  }

  /** Whether the model a persona's `model` setting routes to can see images. */
  canSee(model: string | null | undefined): boolean {
    const route = this.route(model);
    return this.backends.find((b) => b.name === route.backend)?.vision ?? false;
  }

  client(backend: string): LlmClient | undefined {
    return this.clients.get(backend);
  }

  /**
   * The prompt budget of the model a persona's `model` setting routes to (its context window,
   * configured or discovered), and that model as `backend/model` (just the model on the
   * default backend), for checking persona prompts against it.
   */
  async promptBudget(model: string | null | undefined): Promise<{ budget: ContextBudget; label: string }> {
    const route = this.route(model);
    const budget = await this.clients.get(route.backend)!.windows.budget(route.model);
    return { budget, label: this.label(model) };
  }

  /** Like LlmClient.complete, on the backend the request's model routes to; failures name both. */
  async complete(request: CompletionRequest): Promise<RoutedCompletion> {
    const route = this.route(request.model);
    const client = this.clients.get(route.backend)!;
    try {
      const completion = await client.complete({ ...request, model: route.model });
      return { ...completion, backend: route.backend };
    } catch (err) {
      if (err instanceof LlmError) err.backend = route.backend;
      throw err;
    }
  }

  /** All backends' counters added up, plus the queues. */
  stats(): LlmStats & { active: number; waiting: number } {
    const total = { requests: 0, failures: 0, retries: 0, contextExceeded: 0, promptTokens: 0, completionTokens: 0, active: 0, waiting: 0 };
    for (const client of this.clients.values()) {
      const s = client.stats();
      for (const key of Object.keys(total) as Array<keyof typeof total>) total[key] += s[key];
    }
    return total;
  }
}
