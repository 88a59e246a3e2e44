/**
 * Downloads an mxc:// URI from the homeserver's media repository as the appservice: the
 * authenticated endpoint (`/_matrix/client/v1/media/download`, Matrix 1.11), falling back to
 * the legacy unauthenticated one for homeservers that do not know it. The size is capped
 * twice: refused from Content-Length before any of the body is read, and cut off while
 * reading when the header is missing or lies, so a huge file never holds more than the cap
 * in memory.
 */
import { MediaError } from './MediaError.js';
import { parseMxc } from './mediaRef.js';

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

export async function downloadMedia(mxc: string, opts: MediaDownloadOptions): Promise<DownloadedMedia> {
  const { server, mediaId } = parseMxc(mxc);
  const path = `${encodeURIComponent(server)}/${encodeURIComponent(mediaId)}`;
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    const res = await get(`${opts.homeserverUrl}/_matrix/client/v1/media/download/${path}`, opts, signal, true);
    if (!(await isUnrecognised(res))) return await read(res, opts.maxBytes, 'authenticated');
    const legacy = await get(`${opts.homeserverUrl}/_matrix/media/v3/download/${path}`, opts, signal, false);
    return await read(legacy, opts.maxBytes, 'legacy');
  } catch (err) {
    if (err instanceof MediaError) throw err;
    const timedOut = signal.aborted;
    throw new MediaError('download_failed', timedOut ? `the download took longer than ${opts.timeoutMs / 1000} s` : `the download failed: ${(err as Error).message}`, { cause: err });
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
async function isUnrecognised(res: Response): Promise<boolean> {
  if (res.status !== 404 && res.status !== 405 && res.status !== 400) return false;
  const text = await res.text().catch(() => '');
  let errcode: unknown;
  try {
    errcode = (JSON.parse(text) as { errcode?: unknown }).errcode;
  } catch {
    return res.status !== 400;
  }
  if (errcode === 'M_UNRECOGNIZED') return true;
  throw statusError(res.status, errcode);
}

function statusError(status: number, errcode: unknown): MediaError {
  if (status === 404 || errcode === 'M_NOT_FOUND') return new MediaError('not_found', 'the homeserver has no such file (deleted, or never uploaded)');
  if (status === 413 || errcode === 'M_TOO_LARGE') return new MediaError('too_large', 'the homeserver refused to serve a file that large');
  return new MediaError('download_failed', `the homeserver answered ${status}${typeof errcode === 'string' ? ` ${errcode}` : ''}`);
}

async function read(res: Response, maxBytes: number, endpoint: DownloadedMedia['endpoint']): Promise<DownloadedMedia> {
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let errcode: unknown;
    try {
      errcode = (JSON.parse(text) as { errcode?: unknown }).errcode;
    } catch {
      errcode = undefined;
    }
    throw statusError(res.status, errcode);
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(maxBytes, declared);
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
        throw tooLarge(maxBytes, null);
      }
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
  }
  return { data: Buffer.concat(chunks, received), contentType: res.headers.get('content-type'), endpoint };
}

function tooLarge(maxBytes: number, declared: number | null): MediaError {
  const limit = formatBytes(maxBytes);
  return new MediaError('too_large', declared === null ? `it is larger than ${limit}` : `it is ${formatBytes(declared)}, more than ${limit}`);
}

/** `20 MB`, `1.5 MB`, `300 KB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e6) return `${Number((bytes / 1e6).toFixed(1))} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} KB`;
}
