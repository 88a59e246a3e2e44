// Media as a Matrix client sends and receives it, written here from the spec rather than with
// the bridge's own code (src/media), so a mistake there cannot hide in both: uploads through
// the client-server API, encrypted attachments (AES-256-CTR, SHA-256 of the ciphertext,
// unpadded base64, JWK key), authenticated downloads.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readState } from './state.js';
import type { TestUser } from './user.js';

const unpadded = (b: Buffer, url = false) => b.toString(url ? 'base64url' : 'base64').replace(/=+$/, '');

export async function upload(user: TestUser, data: Buffer, type: string, name: string): Promise<string> {
  const res = await user.client.uploadContent(data, { type, name, includeFilename: true });
  return res.content_uri;
}

/**
 * Uploads `size` bytes made as they are sent (never held in memory): `head` first, then zeros.
 * For files too big to build in a test.
 */
export async function uploadStreamed(user: TestUser, head: Buffer, size: number, type: string, name: string): Promise<string> {
  const chunk = Buffer.alloc(1024 * 1024);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 0) {
        controller.enqueue(new Uint8Array(head));
        sent = head.length;
        return;
      }
      const n = Math.min(chunk.length, size - sent);
      if (n <= 0) return controller.close();
      controller.enqueue(new Uint8Array(chunk.subarray(0, n)));
      sent += n;
    },
  });
  const res = await fetch(`${readState().synapse.baseUrl}/_matrix/media/v3/upload?filename=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': type, 'content-length': String(size) },
    body,
    duplex: 'half',
  } as RequestInit);
  if (!res.ok) throw new Error(`upload of ${size} bytes failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { content_uri: string }).content_uri;
}

/** Encrypts a file as an encrypted room's client does; `file` is the event's `file` object. */
export async function uploadEncrypted(user: TestUser, data: Buffer, opts: { wrongHash?: boolean } = {}): Promise<Record<string, unknown>> {
  const key = randomBytes(32);
  const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  const hash = opts.wrongHash ? createHash('sha256').update('something else').digest() : createHash('sha256').update(ciphertext).digest();
  const url = await upload(user, ciphertext, 'application/octet-stream', 'encrypted');
  return {
    url,
    key: { kty: 'oct', alg: 'A256CTR', ext: true, k: unpadded(key, true), key_ops: ['encrypt', 'decrypt'] },
    iv: unpadded(iv),
    hashes: { sha256: unpadded(hash) },
    v: 'v2',
  };
}

/** Downloads an mxc:// URI as the user (authenticated media). */
export async function download(user: TestUser, mxc: string): Promise<Buffer> {
  const [server, id] = mxc.slice('mxc://'.length).split('/');
  const res = await fetch(`${readState().synapse.baseUrl}/_matrix/client/v1/media/download/${server}/${id}`, { headers: { authorization: `Bearer ${user.accessToken}` } });
  if (!res.ok) throw new Error(`download of ${mxc} failed: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** The attachment of a received m.image/m.audio/m.file event, decrypted when it is encrypted. */
export async function attachment(user: TestUser, content: Record<string, unknown>): Promise<Buffer> {
  const file = content.file as { url: string; key: { k: string }; iv: string; hashes: { sha256: string } } | undefined;
  if (!file) return download(user, String(content.url));
  const ciphertext = await download(user, file.url);
  expect(unpadded(createHash('sha256').update(ciphertext).digest())).toBe(file.hashes.sha256.replace(/=+$/, ''));
  const decipher = createDecipheriv('aes-256-ctr', Buffer.from(file.key.k, 'base64url'), Buffer.from(file.iv, 'base64'));
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}
