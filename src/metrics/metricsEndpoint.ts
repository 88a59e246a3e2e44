import type { Application, Request, Response } from 'express';
import { getLogger } from '../logging.js';
import type { Metrics } from './Metrics.js';

const log = getLogger('Metrics');

/**
 * Serves GET /metrics (Prometheus text format) on the appservice listener. matrix-appservice
 * has no route of that name, so plain registration order is enough. The listener already
 * faces the homeserver only (it is not meant to be public); the series carry persona IDs and
 * counts, no message content or tokens.
 */
export function installMetricsEndpoint(app: Application, metrics: Metrics): void {
  app.get('/metrics', (_req: Request, res: Response) => {
    metrics.render().then(
      ({ contentType, body }) => {
        res.set('Content-Type', contentType).send(body);
      },
      (err: unknown) => {
        log.error('rendering metrics failed', { error: err });
        res.status(500).type('text/plain').send(`metrics unavailable: ${String(err)}\n`);
      },
    );
  });
}
