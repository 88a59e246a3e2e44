import type { Request, RequestHandler, Response } from 'express';
import type { HealthCheck } from '../probes/HealthCheck.js';
import { describeError } from '../util/describeError.js';

/**
 * GET /health, ahead of matrix-appservice's built-in one (which always says OK), so load
 * balancers and admins see the database and homeserver state: 200 when every check passes,
 * else 503, each check's detail either way.
 */
export function healthRoute(checks: readonly HealthCheck[]): RequestHandler {
  return async (_req: Request, res: Response) => {
    const results: Record<string, { ok: boolean; detail: string }> = {};
    await Promise.all(
      checks.map(async (c) => {
        try {
          const result = await c.check();
          results[c.name] = { ok: result.status !== 'fail', detail: result.detail };
        } catch (err) {
          results[c.name] = { ok: false, detail: describeError(err) };
        }
      }),
    );
    const ok = Object.values(results).every((r) => r.ok);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unhealthy', checks: results });
  };
}
