/**
 * Downloads a URL with a byte cap and a timeout, reading the body as a stream so an endless or
 * lying (Content-Length) response cannot fill memory.
 *
 * Goes through the safe-fetch module (src/net/safeFetch.ts): internal addresses are refused
 * and redirects re-checked.
 */
import { FetchRefused, safeDownload, type FetchLike, type Lookup } from '../net/safeFetch.js';

export class DownloadError extends Error {
  override name = 'DownloadError';
}

export type { FetchLike } from '../net/safeFetch.js';

export async function boundedDownload(
  url: string,
  options: { maxBytes: number; timeoutMs: number; fetch?: FetchLike; lookup?: Lookup; allowPrivate?: boolean },
): Promise<{ data: Buffer; contentType: string | null; filename: string }> {
  try {
    const { data, contentType, filename } = await safeDownload(url, options);
    return { data, contentType, filename };
  } catch (err) {
    if (err instanceof FetchRefused) throw new DownloadError(err.message);
    throw err;
  }
}
