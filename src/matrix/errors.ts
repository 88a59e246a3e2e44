/** Reading the errors the homeserver's client-server API answers with, however the client library wrapped them. */

/** The `errcode` of a Matrix error response (`M_FORBIDDEN`, ...). */
export function matrixErrcode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { errcode?: unknown; body?: { errcode?: unknown } };
  if (typeof e.errcode === 'string') return e.errcode;
  if (typeof e.body?.errcode === 'string') return e.body.errcode;
  return undefined;
}

/** A short, human description of a failed homeserver call, for chat answers. */
export function describeMatrixError(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { errcode?: unknown; error?: unknown; body?: { errcode?: unknown; error?: unknown }; message?: unknown };
    const code = matrixErrcode(err);
    const text = typeof e.error === 'string' ? e.error : typeof e.body?.error === 'string' ? e.body.error : undefined;
    if (code) return text ? `${code}: ${text}` : code;
    if (typeof e.message === 'string' && e.message) return e.message;
  }
  return String(err);
}
