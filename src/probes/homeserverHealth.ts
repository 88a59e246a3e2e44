import { describeError } from '../util/describeError.js';
import { fail, pass, type CheckResult } from './CheckResult.js';
import type { HealthCheck } from './HealthCheck.js';
import { CachedCheck } from './CachedCheck.js';
import { homeserverVersions } from './homeserver.js';
import type { FetchJsonOptions } from './fetchJson.js';

/**
 * Does something answer at `url` like a Matrix homeserver (its client API's versions)? The
 * one homeserver check: /health's entry and `--check`'s line.
 */
export async function checkHomeserver(url: string, opts: FetchJsonOptions): Promise<CheckResult> {
  const name = 'homeserver';
  try {
    const versions = await homeserverVersions(url, opts);
    return pass(name, `${url} answers (spec ${versions.at(-1) ?? 'versions unknown'})`);
  } catch (err) {
    return fail(name, describeError(err), 'check homeserver.url: it must be the client-server API as this machine reaches it (e.g. http://127.0.0.1:8008)');
  }
}

export interface HomeserverHealthOptions {
  /** A health check must answer quickly even when the homeserver hangs. */
  timeoutMs?: number;
  /** How long one answer (good or bad) is reused. */
  cacheMs?: number;
  fetch?: typeof fetch;
}

/**
 * /health's homeserver entry: is its client API answering? Cached, so frequent health polls
 * cost the homeserver one request per `cacheMs` at most.
 */
export function homeserverHealthCheck(url: string, opts: HomeserverHealthOptions = {}): HealthCheck {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const cached = new CachedCheck(() => checkHomeserver(url, { timeoutMs, ...(opts.fetch ? { fetch: opts.fetch } : {}) }), opts.cacheMs ?? 10_000);
  return { name: 'homeserver', check: () => cached.check() };
}
