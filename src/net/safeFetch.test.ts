import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from 'node:http';
import { FetchRefused, isInternalAddress, pinnedLookup, readAllowedFile, safeDownload } from './safeFetch.js';

const PUBLIC = async () => [{ address: '93.184.216.34', family: 4 }];

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FetchRefused) return err.message;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('isInternalAddress', () => {
  test.each(['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', 'not-an-ip'])(
    '%s is internal',
    (address) => expect(isInternalAddress(address)).toBe(true),
  );
  test.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8', '2a00:1450:4001:80b::200e'])('%s is public', (address) => expect(isInternalAddress(address)).toBe(false));

  // One address per IANA special-purpose range (IPv4 and IPv6 registries); the IPv6 ones that
  // carry 169.254.169.254 (the cloud metadata address) reach it through a translator.
  test.each([
    ['this network 0.0.0.0/8', '0.1.2.3'],
    ['IETF protocol assignments 192.0.0.0/24', '192.0.0.9'],
    ['TEST-NET-1 192.0.2.0/24', '192.0.2.1'],
    ['6to4 relay anycast / AS112 192.88.99.0/24', '192.88.99.1'],
    ['benchmarking 198.18.0.0/15', '198.19.0.1'],
    ['TEST-NET-2 198.51.100.0/24', '198.51.100.7'],
    ['TEST-NET-3 203.0.113.0/24', '203.0.113.7'],
    ['multicast 224.0.0.0/4', '239.1.2.3'],
    ['reserved 240.0.0.0/4', '250.1.2.3'],
    ['broadcast', '255.255.255.255'],
    ['NAT64 64:ff9b::/96 (of 169.254.169.254)', '64:ff9b::a9fe:a9fe'],
    ['local-use NAT64 64:ff9b:1::/48', '64:ff9b:1::a9fe:a9fe'],
    ['IPv4-compatible ::/96 (of 169.254.169.254)', '::a9fe:a9fe'],
    ['IPv4-compatible ::/96 (of 8.8.8.8: deprecated all the same)', '::808:808'],
    ['SIIT ::ffff:0:0:0/96', '::ffff:0:a9fe:a9fe'],
    ['discard-only 100::/64', '100::1'],
    ['Teredo 2001::/32', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
    ['6to4 2002::/16 (of 169.254.169.254)', '2002:a9fe:a9fe::1'],
    ['benchmarking 2001:2::/48', '2001:2::1'],
    ['ORCHIDv2 2001:20::/28', '2001:20::1'],
    ['documentation 2001:db8::/32', '2001:db8::1'],
    ['documentation 3fff::/20', '3fff::1'],
    ['segment routing 5f00::/16', '5f00::1'],
    ['deprecated site-local fec0::/10', 'fec0::1'],
    ['multicast ff00::/8', 'ff02::1'],
  ])('%s is internal', (_range, address) => expect(isInternalAddress(address)).toBe(true));
});

describe('safeDownload', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/redirect-home') {
        res.writeHead(302, { location: 'http://127.0.0.1:1/secret' }).end();
      } else if (req.url === '/endless') {
        // No Content-Length, never ends: only the byte cap stops it.
        res.writeHead(200, { 'content-type': 'image/png' });
        const chunk = Buffer.alloc(64 * 1024);
        const pump = () => {
          while (res.write(chunk));
          res.once('drain', pump);
        };
        pump();
        req.on('close', () => res.destroy());
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
      }
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('loopback, private and link-local targets are refused without a request, with one message for all', async () => {
    const calls: string[] = [];
    const fetch = async (url: string) => (calls.push(url), new Response('x'));
    const lanName = async () => [{ address: '192.168.1.10', family: 4 }];
    const messages = await Promise.all([
      refusal(safeDownload(`${base}/x`, { maxBytes: 10, timeoutMs: 1000, fetch })),
      refusal(safeDownload('http://169.254.169.254/latest/meta-data', { maxBytes: 10, timeoutMs: 1000, fetch })),
      refusal(safeDownload('http://[::1]:8008/', { maxBytes: 10, timeoutMs: 1000, fetch })),
      refusal(safeDownload('http://printer.lan/', { maxBytes: 10, timeoutMs: 1000, fetch, lookup: lanName })),
    ]);
    expect(calls).toEqual([]);
    for (const m of messages) expect(m).toMatch(/is a local or private address; downloads from there are not allowed/);
    expect(await refusal(safeDownload('file:///etc/passwd', { maxBytes: 10, timeoutMs: 1000 }))).toMatch(/not an http\(s\) URL/);
  });

  test('allowed by config, a local server is fetched; a redirect is re-checked at every hop', async () => {
    expect((await safeDownload(`${base}/ok`, { maxBytes: 10, timeoutMs: 5000, allowPrivate: true })).data.toString()).toBe('hello');
    // A public name redirecting to loopback: the second hop is refused.
    const fetch = async (url: string) => (url.startsWith('https://public.example') ? new Response(null, { status: 302, headers: { location: `${base}/ok` } }) : new Response('leak'));
    expect(await refusal(safeDownload('https://public.example/a.png', { maxBytes: 10, timeoutMs: 1000, fetch, lookup: PUBLIC }))).toMatch(/local or private/);
  });

  test('an endless body without Content-Length is cut at the cap', async () => {
    const message = await refusal(safeDownload(`${base}/endless`, { maxBytes: 1024 * 1024, timeoutMs: 10_000, allowPrivate: true }));
    expect(message).toMatch(/larger than the 1 MiB limit/);
  });
});

describe('readAllowedFile', () => {
  test('reads inside the folder only (symlinks resolved), within the cap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'safe-files-'));
    const inside = join(dir, 'in');
    mkdirSync(inside);
    writeFileSync(join(inside, 'a.png'), 'png!');
    writeFileSync(join(dir, 'secret'), 'nope');
    symlinkSync(join(dir, 'secret'), join(inside, 'link.png'));
    expect((await readAllowedFile(join(inside, 'a.png'), inside, 10)).toString()).toBe('png!');
    expect(await refusal(readAllowedFile(join(inside, 'link.png'), inside, 10))).toMatch(/outside/);
    expect(await refusal(readAllowedFile(join(inside, '..', 'secret'), inside, 10))).toMatch(/outside/);
    expect(await refusal(readAllowedFile(join(inside, 'a.png'), inside, 2))).toMatch(/larger than/);
  });
});

describe('pinnedLookup', () => {
  test('node:http connects to the checked address whatever the name resolves to (no second lookup)', async () => {
    const server = createServer((_req, res) => res.end('pinned'));
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    try {
      for (const autoSelectFamily of [true, false]) {
        const body = await new Promise<string>((resolve, reject) => {
          get(`http://no-such-host.invalid:${port}/`, { lookup: pinnedLookup([{ address: '127.0.0.1', family: 4 }]), ...({ autoSelectFamily } as Record<string, unknown>) }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve(text));
          }).on('error', reject);
        });
        expect(body).toBe('pinned');
      }
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
