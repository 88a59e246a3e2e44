import { redactText } from '../redaction.js';

/** A Matrix or OpenAI-style error body: `{ errcode, error }`, or JSON text/bytes holding one. */
function errorBody(body: unknown): { errcode?: string; error?: string } | null {
  let value = body;
  if (ArrayBuffer.isView(value) || typeof value === 'string') {
    const text = typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
    if (text.length > 64 * 1024) return null;
    try {
      value = JSON.parse(text);
    } catch {
      return null;
    }
  }
  if (typeof value !== 'object' || value === null) return null;
  const e = value as { errcode?: unknown; error?: unknown };
  return {
    ...(typeof e.errcode === 'string' ? { errcode: e.errcode } : {}),
    ...(typeof e.error === 'string' ? { error: e.error } : {}),
  };
}

/**
 * A short description of any failure, for people (chat answers, the console): what the
 * homeserver or endpoint said (`M_NOT_FOUND: …`, `HTTP 404`), an error's message, never
 * `[object Object]` and never a secret. Client libraries throw all sorts: Errors, Matrix
 * errors, and (matrix-bot-sdk, when the body is not JSON) the bare HTTP response object,
 * which carries the request with its `Authorization` header.
 */
export function describeError(err: unknown): string {
  return redactText(describe(err));
}

function describe(err: unknown): string {
  if (typeof err === 'string') return err || 'unknown error';
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { errcode?: unknown; error?: unknown; body?: unknown; message?: unknown; statusCode?: unknown; name?: unknown };
  const own = errorBody(e);
  const body = errorBody(e.body);
  const code = own?.errcode ?? body?.errcode;
  const text = own?.error ?? body?.error;
  if (code) return text ? `${code}: ${text}` : code;
  if (typeof e.message === 'string' && e.message) return e.message;
  if (typeof e.statusCode === 'number') return text ? `HTTP ${e.statusCode}: ${text}` : `HTTP ${e.statusCode}`;
  if (text) return text;
  const name = typeof e.name === 'string' && e.name ? e.name : (err.constructor?.name ?? 'Object');
  return `unexpected ${name === 'Object' ? 'error' : name} (details in the log)`;
}

/**
 * For the log: an Error's stack (redacted), else what describeError says. Never
 * `[object Object]` for a thrown object that is no Error.
 */
export function describeErrorWithStack(err: unknown): string {
  if (err instanceof Error && err.stack) return redactText(err.stack);
  return describeError(err);
}
