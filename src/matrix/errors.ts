import { describeError } from '../util/describeError.js';

/** Reading the errors the homeserver's client-server API answers with, however the client library wrapped them. */

/** The `errcode` of a Matrix error response (`M_FORBIDDEN`, ...). */
export function matrixErrcode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { errcode?: unknown; body?: { errcode?: unknown } };
  if (typeof e.errcode === 'string') return e.errcode;
  if (typeof e.body?.errcode === 'string') return e.body.errcode;
  return undefined;
}

/** A short, human description of a failed homeserver call, for chat answers (src/util/describeError.ts). */
export const describeMatrixError = describeError;
