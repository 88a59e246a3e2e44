import type { RoomEvent } from '../matrix/events.js';

/**
 * An encrypted attachment as an encrypted room's event carries it (the `file` object of the
 * client-server spec, "Sending encrypted attachments"): AES-256-CTR with the key as a JWK,
 * the 16-byte counter block, and the SHA-256 of the ciphertext.
 */
export interface EncryptedFile {
  url: string;
  key: { kty: 'oct'; alg: 'A256CTR'; k: string; ext: true; key_ops: string[] };
  iv: string;
  hashes: { sha256: string };
  v: 'v2';
}

export type MediaKind = 'image' | 'file' | 'audio' | 'video';

/** What a media message points at and claims about it (all of it untrusted until downloaded). */
export interface MediaRef {
  kind: MediaKind;
  /** A voice message (MSC3245), not just any audio. */
  voice: boolean;
  /** The mxc:// URI of the (cipher)text. */
  mxc: string;
  /** Set in encrypted rooms: how to decrypt what `mxc` holds. */
  encrypted: EncryptedFile | null;
  /** The file's name as sent (never used as a path). */
  filename: string;
  /** The text sent with it (MSC2530 captions), or ''. */
  caption: string;
  /** What the sender says it is; checked against the bytes before use. */
  mimetype: string | null;
  /** What the sender says its size is (bytes). */
  size: number | null;
  /** What the sender says its length is (audio, ms). */
  durationMs: number | null;
}

const KIND_BY_MSGTYPE: Record<string, MediaKind> = { 'm.image': 'image', 'm.file': 'file', 'm.audio': 'audio', 'm.video': 'video' };
const MXC = /^mxc:\/\/[A-Za-z0-9.:[\]-]+\/[A-Za-z0-9_-]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** The media a message or sticker points at, or null when it has none (or it is malformed). */
export function mediaRefOf(event: Pick<RoomEvent, 'type' | 'content'>): MediaRef | null {
  const { content } = event;
  const kind = event.type === 'm.sticker' ? 'image' : event.type === 'm.room.message' ? KIND_BY_MSGTYPE[String(content.msgtype)] : undefined;
  if (!kind) return null;
  const encrypted = encryptedFileOf(content.file);
  const mxc = encrypted?.url ?? (typeof content.url === 'string' ? content.url : null);
  if (!mxc || !MXC.test(mxc)) return null;
  const info = typeof content.info === 'object' && content.info !== null ? (content.info as Record<string, unknown>) : {};
  const body = typeof content.body === 'string' ? content.body : '';
  const filename = typeof content.filename === 'string' && content.filename ? content.filename : body;
  // MSC2530: with a filename, a different body is the caption.
  const caption = typeof content.filename === 'string' && content.filename && body !== content.filename ? body : '';
  const audio = content['org.matrix.msc1767.audio'] as { duration?: unknown } | undefined;
  const duration = numberOr(info.duration) ?? numberOr(audio?.duration);
  return {
    kind,
    voice: kind === 'audio' && (content['org.matrix.msc3245.voice'] !== undefined || content['org.matrix.msc2516.voice'] !== undefined),
    mxc,
    encrypted,
    filename: filename.slice(0, 255) || 'file',
    caption,
    mimetype: typeof info.mimetype === 'string' ? info.mimetype.toLowerCase() : null,
    size: numberOr(info.size),
    durationMs: duration,
  };
}

function numberOr(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

/** Validates the untrusted `file` object; null when absent or unusable. */
export function encryptedFileOf(raw: unknown): EncryptedFile | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const f = raw as Record<string, unknown>;
  const key = f.key as Record<string, unknown> | undefined;
  const hashes = f.hashes as Record<string, unknown> | undefined;
  if (typeof f.url !== 'string' || typeof f.iv !== 'string' || !BASE64.test(f.iv)) return null;
  if (typeof key !== 'object' || key === null || typeof key.k !== 'string' || !BASE64.test(key.k)) return null;
  if (typeof hashes !== 'object' || hashes === null || typeof hashes.sha256 !== 'string') return null;
  return raw as EncryptedFile;
}
