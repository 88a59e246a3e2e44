import { boundedDownload, DownloadError } from './boundedDownload.js';

/** A fake resolver: every name is a public address (the tests' fetch is fake too). */
const publicAddress = async () => [{ address: '93.184.216.34', family: 4 }];

const respond = (body: ConstructorParameters<typeof Response>[0], init: ConstructorParameters<typeof Response>[1] = {}) => async () => new Response(body, init);

async function error(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof DownloadError) return err.message;
    throw err;
  }
  throw new Error('expected a DownloadError');
}

describe('bounded download', () => {
  test('reads the body, names the file from the path', async () => {
    const result = await boundedDownload('https://cards.example/c/Zo%C3%AB.png', { maxBytes: 10, timeoutMs: 1000, lookup: publicAddress, fetch: respond('12345', { headers: { 'content-type': 'image/png' } }) });
    expect(result).toEqual({ data: Buffer.from('12345'), contentType: 'image/png', filename: 'Zoë.png' });
  });

  test('a body over the cap is refused, even without (or with a lying) Content-Length', async () => {
    const stream = new ReadableStream({
      pull(controller) {
        controller.enqueue(new Uint8Array(4096));
      },
    });
    expect(await error(boundedDownload('https://x.example/big', { maxBytes: 2 * 1024 * 1024, timeoutMs: 5000, lookup: publicAddress, fetch: respond(stream) }))).toBe(
      'https://x.example/big is larger than the 2 MiB limit',
    );
    expect(await error(boundedDownload('https://x.example/big', { maxBytes: 10, timeoutMs: 1000, lookup: publicAddress, fetch: respond('x', { headers: { 'content-length': '99' } }) }))).toMatch(/larger than/);
  });

  test('HTTP errors, bad URLs and other schemes are named', async () => {
    expect(await error(boundedDownload('https://x.example/a', { maxBytes: 10, timeoutMs: 1000, lookup: publicAddress, fetch: respond('no', { status: 404 }) }))).toBe('cannot download https://x.example/a: HTTP 404');
    expect(await error(boundedDownload('not a url', { maxBytes: 10, timeoutMs: 1000 }))).toBe("'not a url' is not a valid URL");
    expect(await error(boundedDownload('file:///etc/passwd', { maxBytes: 10, timeoutMs: 1000 }))).toBe("'file:///etc/passwd' is not an http(s) URL");
  });

  test('a server that never answers times out', async () => {
    const hang = (_url: string, init: { signal: AbortSignal }) =>
      new Promise<Response>((_resolve, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason as Error)));
    expect(await error(boundedDownload('https://x.example/slow', { maxBytes: 10, timeoutMs: 50, lookup: publicAddress, fetch: hang }))).toBe(
      'cannot download https://x.example/slow: no answer within 0.05 s',
    );
  });
});
