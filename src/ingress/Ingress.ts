/**
 * The way in: the appservice's HTTP listener, every route and the order of what runs on a
 * request, declared here and nowhere else.
 *
 * Every request:
 *   1. access   — the homeserver token (GET /health and /metrics are open), before the body is read;
 *   2. size     — the JSON body, at most MAX_BODY_BYTES (413 past that, 400 if not JSON).
 * PUT /_matrix/app/v1/transactions/:txnId, then:
 *   3. shape    — malformed events dropped (transactionShape);
 *   4. decrypt  — with encryption on, the to-device messages, device lists and key counts go to
 *                 our users' crypto machines first, so a room key is in place before the
 *                 message it opens (crypto/);
 *   5. persist  — the messages marked processed and written to the pending store in one
 *                 write (store/ReceivedMessages), or the transaction refused (503) so the
 *                 homeserver retries it (transactionInbox);
 *   6. enqueue  — each event emitted to matrix-appservice-bridge's Bridge as the library's own
 *                 handler would (IngressAppService.deliver), whose controller hands it to the
 *                 bridge's room queue (app/); then 200.
 * Everything else matrix-appservice serves (user and alias queries) comes after our own routes
 * (/health, /metrics, the ping); then a JSON 404 and JSON errors.
 *
 * The library's app is mounted as the last handler of ours (a plain Express sub-app); nothing
 * reaches into Express's internals.
 */
import express, { type Application, type RequestHandler } from 'express';
import { getLogger } from '../logging.js';
import type { HealthCheck } from '../probes/HealthCheck.js';
import { requireHomeserverToken } from './access.js';
import { healthRoute } from './health.js';
import { answerError, MAX_BODY_BYTES, notFound } from './httpErrors.js';
import type { Deliver } from './IngressAppService.js';
import { transactionInbox, type Inbox } from './transactionInbox.js';
import { transactionShape } from './transactionShape.js';

const log = getLogger('Ingress');

/** The one definition of the transaction route (the homeserver pushes events here). */
export const TRANSACTION_ROUTE = '/_matrix/app/v1/transactions/:txnId';
/** The appservice ping (`/_matrix/client/v1/appservice/{id}/ping` on the homeserver calls it). */
export const PING_ROUTE = '/_matrix/app/v1/ping';

export interface IngressParts {
  hsToken: string;
  /** /health's entries (probes/). */
  health: readonly HealthCheck[];
  /** GET /metrics on this listener (when `metrics.port` is unset), else null. */
  metrics: RequestHandler | null;
  /** Stage 4, with encryption on: the transaction's crypto parts (BridgeCrypto.handleTransaction). */
  decrypt: ((transaction: Record<string, unknown>) => Promise<void>) | null;
  /** Stage 5: where the messages are recorded before the homeserver hears "received". */
  inbox: Inbox;
  /** Stage 6: the transaction's events to the bridge (IngressAppService.deliver). */
  deliver: Deliver;
  /** matrix-appservice's own app: the user and alias queries. */
  library: Application;
}

/** Stages 3 to 5 of a transaction, in order (1 and 2 run for every request). */
export function transactionStages(parts: Pick<IngressParts, 'decrypt' | 'inbox' | 'deliver'>): RequestHandler[] {
  return [transactionShape(), ...(parts.decrypt ? [decryptStage(parts.decrypt)] : []), transactionInbox(parts.inbox), enqueueStage(parts.deliver)];
}

/** Stage 6: the events to the bridge, then the homeserver's 200. */
function enqueueStage(deliver: Deliver): RequestHandler {
  return (req, res) => {
    const body: unknown = req.body;
    deliver(String(req.params.txnId), typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {});
    res.json({});
  };
}

/** The ingress app: every route, in the order above. */
export function buildIngress(parts: IngressParts): Application {
  const app = express();
  app.disable('x-powered-by');
  // The library's app answers through its own Express instance: it must not announce itself either.
  parts.library.disable('x-powered-by');
  app.use(requireHomeserverToken(parts.hsToken));
  app.use(express.json({ limit: MAX_BODY_BYTES }));
  app.get('/health', healthRoute(parts.health));
  if (parts.metrics) app.get('/metrics', parts.metrics);
  app.post(PING_ROUTE, (_req, res) => void res.json({}));
  app.put(TRANSACTION_ROUTE, ...transactionStages(parts));
  app.use(parts.library);
  app.use(notFound);
  app.use(answerError);
  return app;
}

/**
 * Stage 4. Synapse sends one transaction at a time, so the room keys of a transaction are in
 * place before its messages (or any later one's) are decrypted. A failure still lets the room
 * events through: undecryptable at worst, and said so in the room.
 */
function decryptStage(decrypt: NonNullable<IngressParts['decrypt']>): RequestHandler {
  return (req, _res, next) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      next();
      return;
    }
    decrypt(body as Record<string, unknown>).then(
      () => next(),
      (err: unknown) => {
        log.error(`crypto processing of transaction ${String(req.params.txnId)} failed`, { error: err });
        next();
      },
    );
  };
}
