import type { Application, Request, Response } from 'express';

export interface HealthCheck {
  name: string;
  /** Resolves with a short detail when healthy; throws (or rejects) when not. */
  check(): Promise<string> | string;
}

/**
 * Installs GET /health ahead of matrix-appservice's built-in one (which always says OK),
 * so load balancers and admins see the database and homeserver state.
 */
export function installHealthEndpoint(app: Application, checks: HealthCheck[]): void {
  app.get('/health', async (_req: Request, res: Response) => {
    const results: Record<string, { ok: boolean; detail: string }> = {};
    await Promise.all(
      checks.map(async (c) => {
        try {
          results[c.name] = { ok: true, detail: await c.check() };
        } catch (err) {
          results[c.name] = { ok: false, detail: (err as Error).message ?? String(err) };
        }
      }),
    );
    const ok = Object.values(results).every((r) => r.ok);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unhealthy', checks: results });
  });
  moveLastRouteFirst(app);
}

/**
 * Express matches routes in registration order and matrix-appservice registers its /health
 * in its constructor, before we can add ours. Express 4 keeps routes in `_router.stack`;
 * moving ours just before the built-in one is the least invasive override (the alternative
 * is overriding a private method of AppService).
 */
function moveLastRouteFirst(app: Application): void {
  type Layer = { route?: { path?: string } };
  const router = (app as unknown as { _router?: { stack: Layer[] } })._router;
  if (!router) throw new Error('express internals changed: no _router; cannot install /health');
  const ours = router.stack.pop()!;
  const builtIn = router.stack.findIndex((l) => l.route?.path === ours.route?.path);
  router.stack.splice(builtIn === -1 ? router.stack.length : builtIn, 0, ours);
}
