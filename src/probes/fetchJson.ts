import { describeError } from '../util/describeError.js';

/** A request that failed in a way worth telling an admin about, worded for them. */
export class ProbeError extends Error {
  override name = 'ProbeError';
  constructor(
    message: string,
    /** HTTP status, when the server answered. */
    readonly status?: number,
    /** Matrix errcode or OpenAI error code from the body, when there was one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface FetchJsonOptions {
  timeoutMs: number;
  headers?: Record<string, string>;
  /** Injected in tests. */
  fetch?: typeof fetch;
}

export interface JsonResponse {
  status: number;
  json: unknown;
}

/**
 * GET url and parse its JSON body, whatever the status (callers judge the status; error
 * bodies carry the reason). Network failures and timeouts become ProbeErrors that name the
 * cause (ECONNREFUSED, ENOTFOUND, ...) instead of fetch's bare "fetch failed".
 */
export async function fetchJson(url: string, opts: FetchJsonOptions): Promise<JsonResponse> {
  const doFetch = opts.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, { headers: { accept: 'application/json', ...opts.headers }, signal: AbortSignal.timeout(opts.timeoutMs) });
  } catch (err) {
    throw new ProbeError(`${url}: ${describeNetworkError(err, opts.timeoutMs)}`);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw new ProbeError(`${url}: HTTP ${res.status}, body unreadable: ${describeNetworkError(err, opts.timeoutMs)}`, res.status);
  }
  try {
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
  } catch {
    throw new ProbeError(`${url}: HTTP ${res.status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 120))}`, res.status);
  }
}

export function describeNetworkError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = e?.cause?.code;
  const hints: Record<string, string> = {
    ECONNREFUSED: 'connection refused (nothing listening there)',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed (DNS)',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'connection timed out',
  };
  if (code) return hints[code] ? `${hints[code]} [${code}]` : `${e.cause?.message ?? 'network error'} [${code}]`;
  return typeof e?.cause?.message === 'string' ? e.cause.message : describeError(err);
}

/** The `errcode`/`error` of a Matrix error body, or OpenAI's `error.code`/`error.message`. */
export function errorOf(json: unknown): { code?: string; message?: string } {
  if (typeof json !== 'object' || json === null) return {};
  const body = json as { errcode?: unknown; error?: unknown };
  if (typeof body.errcode === 'string') return { code: body.errcode, ...(typeof body.error === 'string' ? { message: body.error } : {}) };
  if (typeof body.error === 'object' && body.error !== null) {
    const inner = body.error as { code?: unknown; message?: unknown; type?: unknown };
    const code = typeof inner.code === 'string' ? inner.code : typeof inner.type === 'string' ? inner.type : undefined;
    return { ...(code ? { code } : {}), ...(typeof inner.message === 'string' ? { message: inner.message } : {}) };
  }
  return typeof body.error === 'string' ? { message: body.error } : {};
}
