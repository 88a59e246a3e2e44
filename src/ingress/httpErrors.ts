/**
 * How the ingress answers what it does not serve: Matrix-style JSON `{errcode, error}`, never
 * Express's HTML page with a stack trace or an install path.
 */
import type { NextFunction, Request, Response } from 'express';
import { getLogger } from '../logging.js';

const log = getLogger('Http');

/**
 * Largest request body accepted: Synapse sends at most 100 events (65,536 bytes each at most)
 * and 100 ephemeral events per transaction, so this leaves ample room without letting one
 * request hold gigabytes.
 */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface HttpError {
  status: number;
  errcode: string;
  error: string;
}

/** What to answer for an error thrown by a middleware (body-parser's have `status` and `type`). */
export function describeError(err: unknown): HttpError {
  const e = (err ?? {}) as { status?: unknown; statusCode?: unknown; type?: unknown };
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413 || e.type === 'entity.too.large') return { status: 413, errcode: 'M_TOO_LARGE', error: `Request body larger than ${MAX_BODY_BYTES} bytes` };
  if (e.type === 'entity.parse.failed') return { status: 400, errcode: 'M_NOT_JSON', error: 'Request body is not valid JSON' };
  if (status >= 400 && status < 500) return { status, errcode: 'M_UNKNOWN', error: 'Bad request' };
  return { status: 500, errcode: 'M_UNKNOWN', error: 'Internal server error' };
}

export function sendError(res: Response, { status, errcode, error }: HttpError): void {
  res.status(status).json({ errcode, error });
}

/** After every route: an unknown path. */
export function notFound(_req: Request, res: Response): void {
  sendError(res, { status: 404, errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
}

/** Last: any error a stage or route threw or passed on. */
export function answerError(err: unknown, req: Request, res: Response, next: NextFunction): void {
  const answer = describeError(err);
  if (answer.status >= 500) log.error(`${req.method} ${req.path} failed`, { error: err });
  else log.debug(`${req.method} ${req.path}: ${answer.errcode}`);
  if (res.headersSent) {
    next(err);
    return;
  }
  discardRestOfBody(req);
  sendError(res, answer);
}

/**
 * Whatever the client still sends of a refused request is read and dropped, unparsed, up to
 * the body limit; past that the connection is cut. Closing at once instead would make the
 * kernel reset the connection over the unread data and lose our answer on the way.
 */
export function discardRestOfBody(req: Request): void {
  if (req.readableEnded) return;
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > MAX_BODY_BYTES) req.socket.destroy();
  });
  req.resume();
}
