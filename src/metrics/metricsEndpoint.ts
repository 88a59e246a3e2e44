import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { getLogger } from '../logging.js';
import type { Metrics } from './Metrics.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('Metrics');

/**
 * GET /metrics (Prometheus text format): on the appservice listener (the ingress, when
 * `metrics.port` is unset), or on the metrics listener of its own. The series carry persona
 * IDs and counts, no message content or tokens.
 */
export function metricsRoute(metrics: Metrics): RequestHandler {
  return (_req: Request, res: Response) => {
    metrics.render().then(
      ({ contentType, body }) => {
        res.set('Content-Type', contentType).send(body);
      },
      (err: unknown) => {
        log.error('rendering metrics failed', { error: err });
        res.status(500).type('text/plain').send(`metrics unavailable: ${describeError(err)}\n`);
      },
    );
  };
}

export interface MetricsListener {
  /** The port bound (differs from the configured one when that was 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * A listener that serves only /metrics, as matrix-hookshot does: the scraper can reach it on
 * an address (loopback by default) the homeserver-facing port need not share.
 */
export async function serveMetrics(metrics: Metrics, bind: string, port: number): Promise<MetricsListener> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsRoute(metrics));
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ errcode: 'M_UNRECOGNIZED', error: 'Only /metrics is served here' });
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, bind, () => resolve(s));
    s.once('error', reject);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
