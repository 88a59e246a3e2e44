import type { Application, NextFunction, Request, Response } from 'express';
import { getLogger } from '../logging.js';
import { moveLastLayerBefore } from './expressOrder.js';

const log = getLogger('TransactionFilter');
const TRANSACTION_ROUTE = '/_matrix/app/v1/transactions/:txnId';

function isEventShaped(e: unknown): boolean {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return false;
  const ev = e as Record<string, unknown>;
  return typeof ev.room_id === 'string' && typeof ev.type === 'string' && typeof ev.event_id === 'string' && typeof ev.sender === 'string';
}

/**
 * Drops events without the basic shape before matrix-appservice-bridge sees them: the
 * library dereferences `event.room_id` in an async listener, so a single `null` in a
 * transaction would become an unhandled rejection and take the process down. The rest of
 * the transaction is still delivered, and the homeserver still gets its 200.
 */
export function installTransactionFilter(app: Application): void {
  app.put(TRANSACTION_ROUTE, (req: Request, _res: Response, next: NextFunction) => {
    const body = req.body as { events?: unknown } | undefined;
    if (body && Array.isArray(body.events)) {
      const kept = body.events.filter(isEventShaped);
      if (kept.length !== body.events.length) {
        log.warn(`skipping ${body.events.length - kept.length} malformed event(s) in transaction ${String(req.params.txnId)}`, {
          sample: JSON.stringify(body.events.find((e) => !isEventShaped(e)) ?? null).slice(0, 300),
        });
        body.events = kept;
      }
    } else if (body && body.events !== undefined) {
      log.warn(`transaction ${String(req.params.txnId)} has a non-array 'events'; ignoring it`);
      body.events = [];
    }
    next();
  });
  moveLastLayerBefore(app, TRANSACTION_ROUTE);
}
