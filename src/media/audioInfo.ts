/** The length of an incoming audio file, read from its container by the maintained `music-metadata`. */
import { MediaError } from './MediaError.js';

export async function audioDurationMs(data: Buffer, mime: string): Promise<number> {
  const { parseBuffer } = await import('music-metadata');
  let seconds: number | undefined;
  try {
    const meta = await parseBuffer(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), { mimeType: mime, size: data.length }, { duration: true, skipCovers: true });
    seconds = meta.format.duration;
  } catch (err) {
    throw new MediaError('unreadable', 'the audio is damaged or in a format that cannot be read', { cause: err });
  }
  if (seconds === undefined || !Number.isFinite(seconds)) throw new MediaError('unreadable', 'its length cannot be read');
  return Math.round(seconds * 1000);
}
