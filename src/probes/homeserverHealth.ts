import type { HealthCheck } from './HealthCheck.js';
import { CachedCheck } from './CachedCheck.js';
import { homeserverVersions } from './homeserver.js';

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
  const cached = new CachedCheck(async () => {
    await homeserverVersions(url, { timeoutMs, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
    return `${url} answers`;
  }, opts.cacheMs ?? 10_000);
  return { name: 'homeserver', check: () => cached.check() };
}
