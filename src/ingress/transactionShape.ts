import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { getLogger } from '../logging.js';

const log = getLogger('TransactionShape');

function isEventShaped(e: unknown): boolean {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return false;
  const ev = e as Record<string, unknown>;
  return typeof ev.room_id === 'string' && typeof ev.type === 'string' && typeof ev.event_id === 'string' && typeof ev.sender === 'string';
}

/**
 * What a malformed event looks like, for the log: its type and first keys. Never the whole
 * value: stringifying an arbitrarily deep (or huge) value from outside can throw or flood.
 */
export function describeShape(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array of ${value.length}`;
  if (typeof value !== 'object') return typeof value;
  const keys = Object.keys(value);
  return `object with keys ${keys.slice(0, 10).join(', ')}${keys.length > 10 ? ', ...' : ''}`.slice(0, 300);
}

/**
 * The transaction's shape stage: drops events without the basic shape before anything else
 * reads them (matrix-appservice-bridge dereferences `event.room_id` in an async listener, so a
 * single `null` in a transaction would become an unhandled rejection and take the process
 * down). The rest of the transaction is still delivered, and the homeserver still gets its 200.
 */
export function transactionShape(): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const body = req.body as { events?: unknown } | undefined;
    if (body && Array.isArray(body.events)) {
      const kept = body.events.filter(isEventShaped);
      if (kept.length !== body.events.length) {
        log.warn(`skipping ${body.events.length - kept.length} malformed event(s) in transaction ${String(req.params.txnId)}`, {
          sample: describeShape(body.events.find((e) => !isEventShaped(e))),
        });
        body.events = kept;
      }
    } else if (body && body.events !== undefined) {
      log.warn(`transaction ${String(req.params.txnId)} has a non-array 'events'; ignoring it`);
      body.events = [];
    }
    next();
  };
}
