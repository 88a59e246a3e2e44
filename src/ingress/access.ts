/**
 * The first stage of the ingress: anyone who can reach the port can send requests, so the
 * homeserver token is checked before the body is read, parsed or logged. Refused requests get a
 * Matrix-style JSON `{errcode, error}`; whatever the client still sends is read and dropped.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { discardRestOfBody, sendError, type HttpError } from './httpErrors.js';

/** Served without the token: probes and scrapers do not have it. Read-only, no request body. */
const OPEN_PATHS = new Set(['/health', '/metrics']);

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The token the request carries: `Authorization: Bearer`, else the legacy `access_token` query parameter. */
export function presentedToken(authorization: string | undefined, query: unknown): string | null {
  if (typeof authorization === 'string' && /^Bearer /i.test(authorization)) return authorization.slice('Bearer '.length).trim();
  const fromQuery = (query as Record<string, unknown> | undefined)?.access_token;
  return typeof fromQuery === 'string' ? fromQuery : null;
}

/**
 * Whether a request may go further: null when it may, else the error to answer with. Pure
 * (tests), constant-time in the token.
 */
export function checkAccess(method: string, path: string, token: string | null, hsToken: string): HttpError | null {
  if ((method === 'GET' || method === 'HEAD') && OPEN_PATHS.has(path)) return null;
  if (token === null) return { status: 401, errcode: 'M_UNAUTHORIZED', error: 'Missing access token' };
  if (!hsToken || !timingSafeEqual(digest(token), digest(hsToken))) return { status: 403, errcode: 'M_FORBIDDEN', error: 'Bad token supplied' };
  return null;
}

/** The token check as a middleware: refused before the body is parsed. */
export function requireHomeserverToken(hsToken: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const arrivedAt = performance.now();
    const refused = checkAccess(req.method, req.path, presentedToken(req.headers.authorization, req.query), hsToken);
    if (!refused) {
      // For the answer timeline (metrics/AnswerTimeline.ts): the transaction inbox reads them.
      res.locals.arrivedAt = arrivedAt;
      res.locals.authedAt = performance.now();
      next();
      return;
    }
    discardRestOfBody(req);
    sendError(res, refused);
  };
}
