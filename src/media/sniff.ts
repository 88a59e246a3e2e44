/**
 * What a downloaded file really is, from its bytes (magic numbers, through the maintained
 * `file-type` library), never from what the sender's event or the homeserver claims: an
 * "image" that is an HTML page is refused before any decoder sees it.
 */
import { fileTypeFromBuffer } from 'file-type';

export type MediaCategory = 'image' | 'audio' | 'pdf' | 'text' | 'binary';

export interface Sniffed {
  category: MediaCategory;
  /** The detected type (`text/plain` for text, `application/octet-stream` when unknown). */
  mime: string;
  /** A short name for it in notices: `png`, `html`, `zip`... */
  label: string;
}

/** Image formats the image pipeline (sharp's prebuilt libvips) decodes. */
const IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/tiff', 'image/heic', 'image/heif']);
/** Containers that hold a voice message or other audio (Ogg/Opus from Element, M4A/AAC from mobile apps, WebM, MP3, WAV, FLAC). */
const AUDIO_CONTAINERS = new Set(['application/ogg', 'video/ogg', 'video/webm', 'video/mp4', 'audio/mp4', 'audio/x-m4a', 'audio/webm']);
/** How much of a file the text check reads: enough to tell, cheap for big files. */
const TEXT_PROBE_BYTES = 64 * 1024;

export async function sniffMedia(data: Buffer): Promise<Sniffed> {
  const detected = await fileTypeFromBuffer(data.subarray(0, Math.min(data.length, 1024 * 1024)));
  if (detected) {
    const { mime, ext } = detected;
    if (IMAGES.has(mime)) return { category: 'image', mime, label: ext };
    if (mime.startsWith('audio/') || AUDIO_CONTAINERS.has(mime)) return { category: 'audio', mime, label: ext };
    if (mime === 'application/pdf') return { category: 'pdf', mime, label: ext };
    // XML (and SVG, which file-type reports as XML) is text to read, never an image to decode.
    if (mime === 'application/xml') return { category: 'text', mime, label: ext };
    return { category: 'binary', mime, label: ext };
  }
  if (looksLikeText(data)) return { category: 'text', mime: 'text/plain', label: /^\s*<(!doctype html|html)/i.test(data.subarray(0, 256).toString('utf8')) ? 'html' : 'text' };
  return { category: 'binary', mime: 'application/octet-stream', label: 'binary' };
}

/** UTF-8 without NUL bytes or other control characters than whitespace, in the first 64 KB. */
export function looksLikeText(data: Buffer): boolean {
  const probe = data.subarray(0, TEXT_PROBE_BYTES);
  // A cut in the middle of a multi-byte character at the probe's end is not an error.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    decoder.decode(probe, { stream: probe.length < data.length });
  } catch {
    return false;
  }
  for (const byte of probe) {
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c) return false;
  }
  return true;
}
