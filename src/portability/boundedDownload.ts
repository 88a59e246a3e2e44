/**
 * Downloads a URL with a byte cap and a timeout, reading the body as a stream so an endless or
 * lying (Content-Length) response cannot fill memory.
 *
 * SEAM: this is the one place imports fetch from the internet. It does not yet refuse private
 * or loopback addresses (SSRF); when the project's safe-fetch module lands, route through it here.
 */
export class DownloadError extends Error {
  override name = 'DownloadError';
}

export type FetchLike = (url: string, init: { signal: AbortSignal; redirect: 'follow' }) => Promise<Response>;

export async function boundedDownload(
  url: string,
  options: { maxBytes: number; timeoutMs: number; fetch?: FetchLike },
): Promise<{ data: Buffer; contentType: string | null; filename: string }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DownloadError(`'${url}' is not a valid URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new DownloadError(`'${url}' is not an http(s) URL`);
  const signal = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(parsed.toString(), { signal, redirect: 'follow' });
  } catch (err) {
    const why = signal.aborted ? `no answer within ${options.timeoutMs / 1000} s` : (err as Error).message;
    throw new DownloadError(`cannot download ${url}: ${why}`);
  }
  if (!response.ok) throw new DownloadError(`cannot download ${url}: HTTP ${response.status}`);
  const tooBig = () => new DownloadError(`${url} is larger than the ${Math.floor(options.maxBytes / 1024 / 1024)} MiB limit`);
  if (Number(response.headers.get('content-length') ?? 0) > options.maxBytes) {
    await response.body?.cancel();
    throw tooBig();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body ?? []) {
      total += chunk.length;
      if (total > options.maxBytes) {
        await response.body?.cancel().catch(() => undefined);
        throw tooBig();
      }
      chunks.push(Buffer.from(chunk));
    }
  } catch (err) {
    if (err instanceof DownloadError) throw err;
    const why = signal.aborted ? `no complete answer within ${options.timeoutMs / 1000} s` : (err as Error).message;
    throw new DownloadError(`cannot download ${url}: ${why}`);
  }
  const filename = decodeURIComponent(parsed.pathname.split('/').pop() ?? '') || 'download';
  return { data: Buffer.concat(chunks), contentType: response.headers.get('content-type'), filename };
}
