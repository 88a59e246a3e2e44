import type { Application, Request, Response } from 'express';
import { moveLastLayerBefore } from './expressOrder.js';

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
  moveLastLayerBefore(app, '/health');
}
