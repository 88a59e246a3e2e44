import { importDownloadMessage } from '../commands/importSource.js';
import { MediaDownloadError } from '../media/mediaDownload.js';
import { MatrixGateway } from './MatrixGateway.js';

const BOT = '@bot:hs';
const ADA = '@persona_ada:hs';

/** A bridge whose one client records the requests, and which users a client was asked for. */
function fakeBridge() {
  const clientsFor: string[] = [];
  const requests: { method: string; path: string; qs: Record<string, unknown> | null }[] = [];
  const client = {
    doRequest: async (method: string, path: string, qs: Record<string, unknown> | null) => {
      requests.push({ method, path, qs });
      return path.endsWith('/joined_members') ? { joined: { [ADA]: { display_name: 'Ada' } } } : { event_id: '$e' };
    },
    joinRoom: async (roomId: string) => void requests.push({ method: 'JOIN', path: roomId, qs: null }),
  };
  return { bridge: { getIntent: (userId?: string) => (clientsFor.push(userId ?? BOT), { matrixClient: client }) }, clientsFor, requests };
}

describe('MatrixGateway requests as a user', () => {
  test("go through the appservice's own client with user_id, not a client per persona", async () => {
    const { bridge, clientsFor, requests } = fakeBridge();
    const gateway = new MatrixGateway(bridge as never, BOT);
    await gateway.sendEvent(ADA, '!r:hs', 'm.room.message', { msgtype: 'm.text', body: 'hi' });
    const members = await gateway.joinedMembers(ADA, '!r:hs');
    expect(members.has(ADA)).toBe(true);
    expect(new Set(clientsFor)).toEqual(new Set([BOT]));
    expect(requests.map((r) => r.qs?.user_id)).toEqual([ADA, ADA]);
  });

  test('device requests keep their device and name the user', async () => {
    const { bridge, requests } = fakeBridge();
    const gateway = new MatrixGateway(bridge as never, BOT);
    await gateway.deviceRequest(ADA, 'DEV', 'POST', '/_matrix/client/v3/keys/upload', {});
    expect(requests[0]!.qs).toEqual({ user_id: ADA, device_id: 'DEV', 'org.matrix.msc3202.device_id': 'DEV' });
  });
});

describe('MatrixGateway joins', () => {
  test('wait for the join gate (end-to-end encryption: the joining device) before joining', async () => {
    const { bridge, requests } = fakeBridge();
    const gateway = new MatrixGateway(bridge as never, BOT);
    let open = (): void => undefined;
    const asked: string[] = [];
    gateway.setJoinGate((userId, roomId) => {
      asked.push(`${userId} ${roomId}`);
      return new Promise<void>((resolve) => (open = resolve));
    });
    const joined = gateway.join(ADA, '!r:hs');
    await new Promise((r) => setImmediate(r));
    expect(asked).toEqual([`${ADA} !r:hs`]);
    expect(requests).toEqual([]);
    open();
    await joined;
    expect(requests).toEqual([{ method: 'JOIN', path: '!r:hs', qs: null }]);
  });
});

describe('MatrixGateway.downloadMedia (attachments and imports: one capped download)', () => {
  /** The MediaDownloadError a download ends with, worded as an import says it. */
  const importRefusal = (download: Promise<unknown>): Promise<string> =>
    download.then(
      () => 'no error',
      (err: unknown) => (err instanceof MediaDownloadError ? importDownloadMessage(err.failure) : `unexpected: ${String(err)}`),
    );

  /** A homeserver's media endpoint: `plan` answers each request; what it was asked and how much it wrote are kept. */
  async function mediaServer(plan: (res: import('node:http').ServerResponse) => void) {
    const { createServer } = await import('node:http');
    const asked: { url: string; authorization: string | undefined }[] = [];
    let written = 0;
    const server = createServer((req, res) => {
      asked.push({ url: req.url ?? '', authorization: req.headers.authorization });
      const write = res.write.bind(res);
      res.write = ((chunk: Buffer) => ((written += chunk.length), write(chunk))) as typeof res.write;
      plan(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const gateway = new MatrixGateway({ getIntent: () => ({ matrixClient: { homeserverUrl: `http://127.0.0.1:${port}/`, accessToken: 'as-token' } }) } as never, BOT);
    return { gateway, asked, written: () => written, close: () => new Promise((r) => server.close(r)) };
  }

  test('fetches the authenticated media endpoint as the bot and returns the file', async () => {
    const hs = await mediaServer((res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"a":1}'));
    try {
      expect(await hs.gateway.downloadMedia('mxc://hs/abc', 1024, 5000)).toMatchObject({ data: Buffer.from('{"a":1}'), contentType: 'application/json', endpoint: 'authenticated' });
      expect(hs.asked).toEqual([{ url: '/_matrix/client/v1/media/download/hs/abc?allow_redirect=true', authorization: 'Bearer as-token' }]);
    } finally {
      await hs.close();
    }
  });

  test('refuses a file whose Content-Length is over the cap before reading it', async () => {
    const hs = await mediaServer((res) => {
      res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
      res.write(Buffer.alloc(64 * 1024));
    });
    try {
      expect(await importRefusal(hs.gateway.downloadMedia('mxc://hs/big', 8 * 1024 * 1024, 5000))).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/_matrix\/client\/v1\/media\/download\/hs\/big is larger than the 8 MiB limit$/);
    } finally {
      await hs.close();
    }
  });

  test('aborts a download that says nothing of its size as soon as it passes the cap', async () => {
    let timer: NodeJS.Timeout | undefined;
    const hs = await mediaServer((res) => {
      res.writeHead(200);
      // Endless, 64 KiB at a time, until the client goes away.
      timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(Buffer.alloc(64 * 1024))), 1);
    });
    try {
      expect(await importRefusal(hs.gateway.downloadMedia('mxc://hs/endless', 1024 * 1024, 5000))).toMatch(/is larger than the 1 MiB limit$/);
      // Stopped near the cap, not after 50 MB (the socket's buffers may hold a few chunks more).
      expect(hs.written()).toBeLessThan(8 * 1024 * 1024);
    } finally {
      clearInterval(timer);
      await hs.close();
    }
  });

  test('a missing file: the import names the endpoint and the HTTP status, an attachment says it is gone', async () => {
    const hs = await mediaServer((res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"errcode":"M_NOT_FOUND"}'));
    try {
      const download = hs.gateway.downloadMedia('mxc://hs/missing', 1024, 5000);
      expect(await importRefusal(download)).toMatch(/^cannot download http:\/\/127\.0\.0\.1:\d+\/_matrix\/client\/v1\/media\/download\/hs\/missing: HTTP 404$/);
      await expect(download).rejects.toMatchObject({ code: 'not_found', message: 'the homeserver has no such file (deleted, or never uploaded)' });
    } finally {
      await hs.close();
    }
  });

  test('refuses what is not an mxc:// URI', async () => {
    const hs = await mediaServer((res) => res.end());
    try {
      expect(await importRefusal(hs.gateway.downloadMedia('https://elsewhere/x', 10, 5000))).toBe("'https://elsewhere/x' is not an mxc:// URI");
      expect(hs.asked).toEqual([]);
    } finally {
      await hs.close();
    }
  });
});
