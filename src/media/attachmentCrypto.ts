/**
 * Encrypted attachments (client-server spec, "Sending encrypted attachments"): AES-256-CTR
 * with a random key and a 16-byte counter block whose low 8 bytes start at zero, and the
 * SHA-256 of the ciphertext, which is checked before anything is decrypted.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EncryptedFile } from './mediaRef.js';
import { MediaError } from './MediaError.js';

/** Unpadded base64 (the spec's encoding) or base64url, padded or not. */
function fromBase64(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function unpadded(buffer: Buffer, url = false): string {
  return buffer.toString(url ? 'base64url' : 'base64').replace(/=+$/, '');
}

/** The plaintext, or a MediaError `bad_hash` / `bad_key` when the file is not what the event says. */
export function decryptAttachment(ciphertext: Buffer, file: EncryptedFile): Buffer {
  const key = fromBase64(file.key.k);
  const iv = fromBase64(file.iv);
  const expected = fromBase64(file.hashes.sha256);
  if (key.length !== 32 || iv.length !== 16 || expected.length !== 32) throw new MediaError('bad_key', 'the attachment key, iv or hash has the wrong length');
  const actual = createHash('sha256').update(ciphertext).digest();
  if (!timingSafeEqual(actual, expected)) throw new MediaError('bad_hash', 'the attachment does not match its SHA-256 hash');
  const decipher = createDecipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

/** Encrypts a file for an encrypted room: the ciphertext to upload and the `file` object (without its url). */
export function encryptAttachment(plaintext: Buffer): { ciphertext: Buffer; file: Omit<EncryptedFile, 'url'> } {
  const key = randomBytes(32);
  // The high 8 bytes random, the low 8 (the counter) zero, as the spec asks.
  const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    ciphertext,
    file: {
      key: { kty: 'oct', alg: 'A256CTR', k: unpadded(key, true), ext: true, key_ops: ['encrypt', 'decrypt'] },
      iv: unpadded(iv),
      hashes: { sha256: unpadded(createHash('sha256').update(ciphertext).digest()) },
      v: 'v2',
    },
  };
}
