/**
 * The appservice listener's front door. Anyone who can reach the port can send requests, so
 * the homeserver token is checked first, before body parsing, the transaction filter or any
 * logging; bodies have an explicit size limit; every error is a Matrix-style JSON
 * `{errcode, error}` without stack traces or install paths; Express does not announce itself.
 * Also serves the appservice ping (`POST /_matrix/app/v1/ping`), which Synapse's
 * `/_matrix/client/v1/appservice/{id}/ping` relies on.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Application, NextFunction, Request, Response } from 'express';
import { getLogger } from '../logging.js';

const log = getLogger('Http');

/**
 * Largest request body accepted: Synapse sends at most 100 events (65,536 bytes each at most)
 * and 100 ephemeral events per transaction, so this leaves ample room without letting one
 * request hold gigabytes.
 */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Served without the token: probes and scrapers do not have it. Read-only, no request body. */
const OPEN_PATHS = new Set(['/health', '/metrics']);

type Layer = { name?: string; handle: unknown };

export interface HttpError {
  status: number;
  errcode: string;
  error: string;
}

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

/** What to answer for an error thrown by a middleware (body-parser's have `status` and `type`). */
export function describeError(err: unknown): HttpError {
  const e = (err ?? {}) as { status?: unknown; statusCode?: unknown; type?: unknown };
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413 || e.type === 'entity.too.large') return { status: 413, errcode: 'M_TOO_LARGE', error: `Request body larger than ${MAX_BODY_BYTES} bytes` };
  if (e.type === 'entity.parse.failed') return { status: 400, errcode: 'M_NOT_JSON', error: 'Request body is not valid JSON' };
  if (status >= 400 && status < 500) return { status, errcode: 'M_UNKNOWN', error: 'Bad request' };
  return { status: 500, errcode: 'M_UNKNOWN', error: 'Internal server error' };
}

function send(res: Response, { status, errcode, error }: HttpError): void {
  res.status(status).json({ errcode, error });
}

/**
 * Call right after constructing the AppService: puts the token check at the front of its
 * Express stack (ahead of its request logger and JSON body parser), and adds the ping route.
 */
export function hardenAppservice(app: Application, hsToken: string): void {
  app.disable('x-powered-by');
  app.use((req: Request, res: Response, next: NextFunction) => {
    const arrivedAt = performance.now();
    const refused = checkAccess(req.method, req.path, presentedToken(req.headers.authorization, req.query), hsToken);
    if (!refused) {
      // For the answer timeline (metrics/AnswerTimeline.ts): the transaction inbox reads them.
      res.locals.arrivedAt = arrivedAt;
      res.locals.authedAt = performance.now();
      next();
      return;
    }
    // Refused before the body is parsed.
    discardRestOfBody(req);
    send(res, refused);
  });
  moveLastLayerAfterInit(app);
  app.post('/_matrix/app/v1/ping', (_req: Request, res: Response) => {
    res.json({});
  });
}

/**
 * Call once every route is registered (after `bridge.listen`): unknown paths get a JSON 404,
 * and errors a JSON answer instead of Express's HTML page with its stack trace.
 */
export function installTerminalHandlers(app: Application): void {
  app.use((_req: Request, res: Response) => {
    send(res, { status: 404, errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  });
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    const answer = describeError(err);
    if (answer.status >= 500) log.error(`${req.method} ${req.path} failed`, { error: err });
    else log.debug(`${req.method} ${req.path}: ${answer.errcode}`);
    if (res.headersSent) {
      next(err);
      return;
    }
    discardRestOfBody(req);
    send(res, answer);
  });
}

/**
 * Whatever the client still sends of a refused request is read and dropped, unparsed, up to
 * the body limit; past that the connection is cut. Closing at once instead would make the
 * kernel reset the connection over the unread data and lose our answer on the way.
 */
function discardRestOfBody(req: Request): void {
  if (req.readableEnded) return;
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > MAX_BODY_BYTES) req.socket.destroy();
  });
  req.resume();
}

/**
 * Express's first two layers are its own (`query`, `expressInit`); matrix-appservice adds its
 * request logger and body parser right after. Our token check goes between them.
 */
function moveLastLayerAfterInit(app: Application): void {
  const router = (app as unknown as { _router?: { stack: Layer[] } })._router;
  if (!router) throw new Error('express internals changed: no _router');
  const ours = router.stack.pop()!;
  const init = router.stack.findIndex((l) => l.name === 'expressInit');
  if (init === -1) throw new Error('express internals changed: no expressInit layer');
  router.stack.splice(init + 1, 0, ours);
}
