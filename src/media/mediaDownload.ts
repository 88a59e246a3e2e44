/**
 * THE download of an mxc:// URI from the homeserver's media repository as the appservice, for
 * attachments (images, files, voice: src/media) and imports (cards, lorebooks, avatars:
 * src/commands/importSource.ts) alike: the authenticated endpoint
 * (`/_matrix/client/v1/media/download`, Matrix 1.11), falling back to the legacy
 * unauthenticated one for homeservers that do not know it. The size is capped twice: refused
 * from Content-Length before any of the body is read, and cut off while reading when the
 * header is missing or lies, so a huge file never holds more than the cap in memory.
 */
import { MediaError, type MediaErrorCode } from './MediaError.js';
import { describeError } from '../util/describeError.js';

export interface MediaDownloadOptions {
  homeserverUrl: string;
  /** The appservice's as_token. */
  accessToken: string;
  maxBytes: number;
  timeoutMs: number;
  /** Tests: a fake network. */
  fetch?: typeof fetch;
}

export interface DownloadedMedia {
  data: Buffer;
  /** What the homeserver says it is (never trusted: see sniff.ts). */
  contentType: string | null;
  /** Which endpoint answered. */
  endpoint: 'authenticated' | 'legacy';
}

/**
 * What went wrong, for callers that word it their own way (imports say "cannot download URL:
 * HTTP 404", attachments "the homeserver has no such file"). `url` is the endpoint asked.
 */
export type DownloadFailure =
  | { reason: 'not_mxc'; mxc: string }
  | { reason: 'status'; url: string; status: number }
  | { reason: 'too_large'; url: string; maxBytes: number }
  | { reason: 'transport'; url: string; timedOut: boolean; timeoutMs: number; detail: string };

/** A MediaError (code and attachment wording) that also says what failed (`failure`). */
export class MediaDownloadError extends MediaError {
  override name = 'MediaDownloadError';
  constructor(
    code: MediaErrorCode,
    message: string,
    readonly failure: DownloadFailure,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

const MXC = /^mxc:\/\/([^/]+)\/([^/?#]+)$/;

export async function downloadMedia(mxc: string, opts: MediaDownloadOptions): Promise<DownloadedMedia> {
  const parts = MXC.exec(mxc);
  if (!parts) throw new MediaDownloadError('unreadable', `'${mxc}' is not an mxc:// URI`, { reason: 'not_mxc', mxc });
  const path = `${encodeURIComponent(parts[1]!)}/${encodeURIComponent(parts[2]!)}`;
  const base = opts.homeserverUrl.replace(/\/+$/, '');
  const signal = AbortSignal.timeout(opts.timeoutMs);
  let url = `${base}/_matrix/client/v1/media/download/${path}`;
  try {
    const res = await get(url, opts, signal, true);
    if (!(await isUnrecognised(res, url))) return await read(res, opts.maxBytes, 'authenticated', url);
    url = `${base}/_matrix/media/v3/download/${path}`;
    const legacy = await get(url, opts, signal, false);
    return await read(legacy, opts.maxBytes, 'legacy', url);
  } catch (err) {
    if (err instanceof MediaError) throw err;
    const timedOut = signal.aborted;
    const detail = describeError(err);
    const failure: DownloadFailure = { reason: 'transport', url, timedOut, timeoutMs: opts.timeoutMs, detail };
    throw new MediaDownloadError('download_failed', timedOut ? `the download took longer than ${opts.timeoutMs / 1000} s` : `the download failed: ${detail}`, failure, { cause: err });
  }
}

function get(url: string, opts: MediaDownloadOptions, signal: AbortSignal, authenticated: boolean): Promise<Response> {
  const headers: Record<string, string> = authenticated ? { authorization: `Bearer ${opts.accessToken}` } : {};
  return (opts.fetch ?? fetch)(`${url}?allow_redirect=true`, { headers, signal, redirect: 'follow' });
}

/**
 * A homeserver without authenticated media answers its route with 404/405 M_UNRECOGNIZED (or
 * a bare 404/405 page); a 404 M_NOT_FOUND is the media being missing, not the endpoint.
 */
async function isUnrecognised(res: Response, url: string): Promise<boolean> {
  if (res.status !== 404 && res.status !== 405 && res.status !== 400) return false;
  const text = await res.text().catch(() => '');
  let errcode: unknown;
  try {
    errcode = (JSON.parse(text) as { errcode?: unknown }).errcode;
  } catch {
    return res.status !== 400;
  }
  if (errcode === 'M_UNRECOGNIZED') return true;
  throw statusError(res.status, errcode, url);
}

function statusError(status: number, errcode: unknown, url: string): MediaDownloadError {
  const failure: DownloadFailure = { reason: 'status', url, status };
  if (status === 404 || errcode === 'M_NOT_FOUND') return new MediaDownloadError('not_found', 'the homeserver has no such file (deleted, or never uploaded)', failure);
  if (status === 413 || errcode === 'M_TOO_LARGE') return new MediaDownloadError('too_large', 'the homeserver refused to serve a file that large', failure);
  return new MediaDownloadError('download_failed', `the homeserver answered ${status}${typeof errcode === 'string' ? ` ${errcode}` : ''}`, failure);
}

async function read(res: Response, maxBytes: number, endpoint: DownloadedMedia['endpoint'], url: string): Promise<DownloadedMedia> {
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let errcode: unknown;
    try {
      errcode = (JSON.parse(text) as { errcode?: unknown }).errcode;
    } catch {
      errcode = undefined;
    }
    throw statusError(res.status, errcode, url);
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(maxBytes, declared, url);
  }
  const chunks: Buffer[] = [];
  let received = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(maxBytes, null, url);
      }
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
  }
  return { data: Buffer.concat(chunks, received), contentType: res.headers.get('content-type'), endpoint };
}

function tooLarge(maxBytes: number, declared: number | null, url: string): MediaDownloadError {
  const limit = formatBytes(maxBytes);
  const message = declared === null ? `it is larger than ${limit}` : `it is ${formatBytes(declared)}, more than ${limit}`;
  return new MediaDownloadError('too_large', message, { reason: 'too_large', url, maxBytes });
}

/** `20 MB`, `1.5 MB`, `300 KB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e6) return `${Number((bytes / 1e6).toFixed(1))} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} KB`;
}
