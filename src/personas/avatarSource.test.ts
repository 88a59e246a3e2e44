import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AvatarError, loadAvatarImage, parseAvatarSource, sniffImageType } from './avatarSource.js';

/** A fake resolver: every name is a public address (the tests' fetch is fake too). */
const PUBLIC = { lookup: async () => [{ address: '93.184.216.34', family: 4 }] };
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const JPEG = Buffer.from('ffd8ffe000104a464946', 'hex');

describe('avatar sources', () => {
  test.each([
    ['mxc://example.org/AbC_1-2', undefined, { kind: 'mxc', uri: 'mxc://example.org/AbC_1-2' }],
    ['https://example.org/a.png', undefined, { kind: 'http', url: 'https://example.org/a.png' }],
    ['http://example.org/a b.png', undefined, { kind: 'http', url: 'http://example.org/a%20b.png' }],
    ['file:///srv/a.png', undefined, { kind: 'file', path: '/srv/a.png' }],
    ['/srv/a.png', undefined, { kind: 'file', path: '/srv/a.png' }],
    ['avatars/a.png', '/etc/personas', { kind: 'file', path: '/etc/personas/avatars/a.png' }],
  ])('%s', (ref, baseDir, expected) => expect(parseAvatarSource(ref, baseDir)).toEqual(expected));

  test.each([
    ['mxc://example.org', /not a valid mxc:\/\/ URI/],
    ['avatars/a.png', /must be an mxc:\/\/ URI, an http\(s\):\/\/ URL or a file/],
    ['ftp://example.org/a.png', /must be an mxc:\/\/ URI/],
  ])('%s is refused', (ref, message) => expect(() => parseAvatarSource(ref)).toThrow(message));

  test('image types are sniffed from the bytes', () => {
    expect(sniffImageType(PNG)).toBe('image/png');
    expect(sniffImageType(JPEG)).toBe('image/jpeg');
    expect(sniffImageType(Buffer.from('GIF89a....'))).toBe('image/gif');
    expect(sniffImageType(Buffer.from('RIFF....WEBPVP8 '))).toBe('image/webp');
    expect(sniffImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
  });

  test('a file is read, typed and keyed by its content', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'avatar-')), 'me.png');
    writeFileSync(path, PNG);
    const image = await loadAvatarImage({ kind: 'file', path }, undefined, { fileDirectory: dirname(path) });
    expect(image).toMatchObject({ contentType: 'image/png', filename: 'me.png', data: PNG });
    expect(image.cacheKey).toMatch(/^sha256:[0-9a-f]{64}$/);
    await expect(loadAvatarImage({ kind: 'file', path: `${path}.missing` }, undefined, { fileDirectory: dirname(path) })).rejects.toThrow(/cannot read avatar file .*ENOENT/);
    // Outside the allowed folder, or with none allowed: refused.
    await expect(loadAvatarImage({ kind: 'file', path }, undefined, { fileDirectory: join(dirname(path), 'sub') })).rejects.toThrow(/cannot read avatar file/);
    await expect(loadAvatarImage({ kind: 'file', path })).rejects.toThrow(/local files are not allowed/);
  });

  test('a download is checked for status and type', async () => {
    const respond = (body: Buffer | string, status = 200) => async () => new Response(body, { status });
    await expect(loadAvatarImage({ kind: 'http', url: 'https://x/a.jpg' }, respond(JPEG), PUBLIC)).resolves.toMatchObject({
      contentType: 'image/jpeg',
      filename: 'a.jpg',
      cacheKey: 'https://x/a.jpg',
    });
    await expect(loadAvatarImage({ kind: 'http', url: 'https://x/a.png' }, respond('nope', 404), PUBLIC)).rejects.toThrow(
      'cannot download avatar https://x/a.png: HTTP 404',
    );
    await expect(loadAvatarImage({ kind: 'http', url: 'https://x/a.png' }, respond('<html>'), PUBLIC)).rejects.toThrow(AvatarError);
    const unreachable = async (): Promise<Response> => {
      throw new TypeError('fetch failed');
    };
    await expect(loadAvatarImage({ kind: 'http', url: 'https://x/a.png' }, unreachable, PUBLIC)).rejects.toThrow(
      'cannot download avatar https://x/a.png: fetch failed',
    );
  });
});
