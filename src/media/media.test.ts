import { jest } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { silentOggOpus } from '../../tests/fakes/oggOpus.js';
import { solidPng } from '../../tests/fakes/pngImage.js';
import { decryptAttachment, encryptAttachment } from './attachmentCrypto.js';
import { audioDurationMs } from './audioInfo.js';
import { imageTokens, prepareImage } from './imagePrep.js';
import { downloadMedia } from './mediaDownload.js';
import { MediaError } from './MediaError.js';
import { mediaRefOf } from './mediaRef.js';
import { isOggOpus, oggOpusDurationMs, voiceInfo, WAVEFORM_BARS } from './oggOpus.js';
import { sniffMedia } from './sniff.js';
import { extractText } from './textExtract.js';
import { minimalPdf } from '../../tests/fakes/pdf.js';

const code = async (promise: Promise<unknown> | (() => unknown)): Promise<string> => {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    if (err instanceof MediaError) return err.code;
    throw err;
  }
  return 'no error';
};

// sharp and the decoders are quick, but a loaded 2-core machine makes them take seconds.
jest.setTimeout(30_000);

describe('encrypted attachments', () => {
  test('what is encrypted decrypts again; a wrong hash is refused before decrypting', async () => {
    const plain = Buffer.from('a voice message, say');
    const { ciphertext, file } = encryptAttachment(plain);
    const ref = { ...file, url: 'mxc://hs/abc' };
    expect(decryptAttachment(ciphertext, ref)).toEqual(plain);
    expect(ciphertext.equals(plain)).toBe(false);
    // The counter block's low 8 bytes start at zero, as the spec asks.
    expect(Buffer.from(file.iv, 'base64').subarray(8)).toEqual(Buffer.alloc(8));
    const wrong = { ...ref, hashes: { sha256: Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '') } };
    expect(await code(() => decryptAttachment(ciphertext, wrong))).toBe('bad_hash');
    expect(await code(() => decryptAttachment(Buffer.concat([ciphertext, Buffer.from([0])]), ref))).toBe('bad_hash');
  });
});

describe('media references', () => {
  test('caption, voice flag, encrypted file; malformed ones are not media', () => {
    const ref = mediaRefOf({
      type: 'm.room.message',
      content: { msgtype: 'm.image', body: 'look!', filename: 'cat.png', url: 'mxc://hs/cat', info: { mimetype: 'image/png', size: 123 } },
    });
    expect(ref).toMatchObject({ kind: 'image', filename: 'cat.png', caption: 'look!', size: 123, encrypted: null });
    const voice = mediaRefOf({
      type: 'm.room.message',
      content: { msgtype: 'm.audio', body: 'Voice message', file: { ...encryptAttachment(Buffer.from('x')).file, url: 'mxc://hs/v' }, 'org.matrix.msc3245.voice': {}, info: { duration: 4000 } },
    });
    expect(voice).toMatchObject({ kind: 'audio', voice: true, durationMs: 4000, mxc: 'mxc://hs/v' });
    expect(voice!.encrypted).not.toBeNull();
    expect(mediaRefOf({ type: 'm.sticker', content: { body: 'wave', url: 'mxc://hs/w' } })).toMatchObject({ kind: 'image', filename: 'wave' });
    expect(mediaRefOf({ type: 'm.room.message', content: { msgtype: 'm.image', body: 'x', url: 'https://example.org/x.png' } })).toBeNull();
    expect(mediaRefOf({ type: 'm.room.message', content: { msgtype: 'm.text', body: 'x' } })).toBeNull();
  });
});

describe('downloads as the appservice', () => {
  let server: Server;
  let base: string;
  let handler: (path: string, auth: string | undefined) => { status: number; body?: Buffer | string; length?: number; json?: unknown };
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization ?? '-'}`);
      const out = handler(req.url!.split('?')[0]!, req.headers.authorization);
      if (out.json !== undefined) {
        res.writeHead(out.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out.json));
        return;
      }
      const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
      if (out.length !== undefined) headers['content-length'] = out.length;
      res.writeHead(out.status, headers);
      if (out.length !== undefined && !out.body) {
        // Claims a huge size; writes a little and then waits to be dropped.
        res.write(Buffer.alloc(1024));
        return;
      }
      res.end(out.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => (seen.length = 0));
  const get = (maxBytes = 1000) => downloadMedia('mxc://hs/abc', { homeserverUrl: base, accessToken: 'as-token', maxBytes, timeoutMs: 5000 });

  test('the authenticated endpoint, with the as_token', async () => {
    handler = () => ({ status: 200, body: 'hello' });
    expect((await get()).data.toString()).toBe('hello');
    expect(seen).toEqual(['/_matrix/client/v1/media/download/hs/abc?allow_redirect=true Bearer as-token']);
  });

  test('an old homeserver: the legacy endpoint, without the token', async () => {
    handler = (path) => (path.startsWith('/_matrix/client/v1') ? { status: 404, json: { errcode: 'M_UNRECOGNIZED' } } : { status: 200, body: 'old' });
    expect(await get()).toMatchObject({ endpoint: 'legacy' });
    expect(seen[1]).toBe('/_matrix/media/v3/download/hs/abc?allow_redirect=true -');
  });

  test('refused from Content-Length before reading, and cut off while reading when there is none', async () => {
    handler = () => ({ status: 200, length: 200_000_000 });
    expect(await code(get())).toBe('too_large');
    handler = () => ({ status: 200, body: Buffer.alloc(5000) });
    expect(await code(get(1000))).toBe('too_large');
  });

  test('a Content-Length that lies: cut off at the cap while reading, the rest never pulled', async () => {
    let pulled = 0;
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1024;
        controller.enqueue(new Uint8Array(1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    // Claims 10 bytes, then streams forever.
    const fetchLying = (async () => new Response(endless, { status: 200, headers: { 'content-length': '10' } })) as unknown as typeof fetch;
    const download = downloadMedia('mxc://hs/abc', { homeserverUrl: 'http://hs', accessToken: 't', maxBytes: 4096, timeoutMs: 5000, fetch: fetchLying });
    await expect(download).rejects.toMatchObject({ code: 'too_large', message: 'it is larger than 4 KB', failure: { reason: 'too_large', maxBytes: 4096 } });
    expect(cancelled).toBe(true);
    // The stream may read ahead a chunk or two (its high-water mark), never on to the end.
    expect(pulled).toBeLessThanOrEqual(4096 + 3 * 1024);
  });

  test('missing media and a failing homeserver', async () => {
    handler = () => ({ status: 404, json: { errcode: 'M_NOT_FOUND' } });
    expect(await code(get())).toBe('not_found');
    handler = () => ({ status: 502, body: 'bad gateway' });
    expect(await code(get())).toBe('download_failed');
    expect(await code(downloadMedia('mxc://hs/abc', { homeserverUrl: 'http://127.0.0.1:9', accessToken: 't', maxBytes: 10, timeoutMs: 2000 }))).toBe('download_failed');
  });
});

describe('sniffing', () => {
  test('by the bytes, not the name', async () => {
    expect(await sniffMedia(solidPng())).toMatchObject({ category: 'image', mime: 'image/png' });
    expect(await sniffMedia(Buffer.from('<!DOCTYPE html><html><body>hi</body></html>'))).toMatchObject({ category: 'text', label: 'html' });
    expect(await sniffMedia(Buffer.from('name,age\nAda,36\n'))).toMatchObject({ category: 'text' });
    expect(await sniffMedia(silentOggOpus(1))).toMatchObject({ category: 'audio' });
    expect(await sniffMedia(minimalPdf('Hello'))).toMatchObject({ category: 'pdf' });
    expect(await sniffMedia(Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 0, 0]))).toMatchObject({ category: 'binary' });
  });
});

describe('images for vision models', () => {
  const limits = { maxSide: 512, maxBytes: 100_000, maxPixels: 50_000_000 };

  test('downscaled to the longest side keeping the aspect ratio, EXIF and GPS gone', async () => {
    const photo = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: { r: 10, g: 200, b: 30 } } })
      .jpeg()
      .withExif({ IFD0: { Make: 'SpyCam', Copyright: 'secret' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 0/1' } })
      .toBuffer();
    expect((await sharp(photo).metadata()).exif).toBeDefined();
    const prepared = await prepareImage(photo, limits);
    expect([prepared.width, prepared.height]).toEqual([512, 256]);
    const meta = await sharp(prepared.data).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 512, height: 256 });
    expect(meta.exif).toBeUndefined();
    expect(prepared.data.includes(Buffer.from('SpyCam'))).toBe(false);
  });

  test('small images keep their size; a size budget makes them smaller', async () => {
    expect(await prepareImage(solidPng([1, 2, 3], 40), limits)).toMatchObject({ width: 40, height: 40 });
    const noise = Buffer.alloc(400 * 400 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251;
    const noisy = await sharp(noise, { raw: { width: 400, height: 400, channels: 3 } })
      .png()
      .toBuffer();
    const small = await prepareImage(noisy, { ...limits, maxBytes: 20_000 });
    expect(small.data.length).toBeLessThanOrEqual(20_000);
    expect(small.width).toBe(small.height);
  });

  test('a truncated PNG and a decompression bomb are refused', async () => {
    const png = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#888' } }).png({ compressionLevel: 0 }).toBuffer();
    expect(await code(prepareImage(png.subarray(0, png.length / 2), limits))).toBe('unreadable');
    expect(await code(prepareImage(png, { ...limits, maxPixels: 10_000 }))).toBe('too_many_pixels');
  });

  test('tokens per image: OpenAI\'s tile rule', () => {
    expect(imageTokens(1024, 768)).toBe(765);
    expect(imageTokens(512, 512)).toBe(255);
    expect(imageTokens(100, 100)).toBe(255);
  });
});

describe('text of files', () => {
  test('plain text cut to the budget, with the cut said; a PDF read through unpdf', async () => {
    const long = await extractText(Buffer.from('word '.repeat(5000)), { category: 'text', mime: 'text/plain', label: 'text' }, 100);
    expect(long.cut).toBe(true);
    expect(long.text.length).toBeLessThan(2000);
    const pdf = await extractText(minimalPdf('Hello from a PDF'), { category: 'pdf', mime: 'application/pdf', label: 'pdf' }, 100);
    expect(pdf).toMatchObject({ text: 'Hello from a PDF', cut: false, pages: 1 });
    expect(await code(extractText(Buffer.from('%PDF-1.4 garbage'), { category: 'pdf', mime: 'application/pdf', label: 'pdf' }, 100))).toBe('unreadable');
  });
});

describe('Ogg/Opus', () => {
  test('header, duration and waveform; a 3-hour stream is read as 3 hours without decoding it', async () => {
    const two = silentOggOpus(2);
    expect(isOggOpus(two)).toBe(true);
    expect(isOggOpus(solidPng())).toBe(false);
    expect(oggOpusDurationMs(two)).toBe(2000);
    const info = await voiceInfo(two);
    expect(info.durationMs).toBe(2000);
    expect(info.waveform).toHaveLength(WAVEFORM_BARS);
    expect(info.waveform.every((v) => Number.isInteger(v) && v >= 0 && v <= 1024)).toBe(true);
    expect(await audioDurationMs(silentOggOpus(3 * 3600), 'audio/ogg')).toBe(3 * 3600 * 1000);
    expect(await code(() => oggOpusDurationMs(two.subarray(0, two.length - 10)))).toBe('unreadable');
  });
});
