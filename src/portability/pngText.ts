import extractChunks from 'png-chunks-extract';
import encodeChunks from 'png-chunks-encode';
import * as pngText from 'png-chunk-text';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function isPng(data: Uint8Array): boolean {
  return data.length >= 8 && Buffer.from(data.subarray(0, 8)).equals(PNG_SIGNATURE);
}

type Chunk = { name: string; data: Uint8Array };

/** The PNG's chunks; a truncated or corrupted file throws with the library's reason. */
function chunksOf(png: Uint8Array): Chunk[] {
  const chunks = extractChunks(png);
  if (chunks.at(-1)?.name !== 'IEND') throw new Error('the PNG is truncated (no IEND chunk)');
  return chunks;
}

/** The tEXt chunks of a PNG, keyword -> text (the first of each keyword). */
export function readPngText(png: Uint8Array): Map<string, string> {
  const texts = new Map<string, string>();
  for (const chunk of chunksOf(png)) {
    if (chunk.name !== 'tEXt') continue;
    const { keyword, text } = pngText.decode(chunk);
    if (!texts.has(keyword)) texts.set(keyword, text);
  }
  return texts;
}

/**
 * The same image with the tEXt chunks of these keywords removed and, when `add` is given, one
 * new tEXt chunk just before IEND (where SillyTavern writes its card). The text must be Latin-1
 * (we only write base64).
 */
export function rewritePngText(png: Uint8Array, remove: readonly string[], add?: { keyword: string; text: string }): Buffer {
  const kept = chunksOf(png).filter((chunk) => chunk.name !== 'tEXt' || !remove.includes(pngText.decode(chunk).keyword));
  if (add) kept.splice(kept.length - 1, 0, pngText.encode(add.keyword, add.text));
  return Buffer.from(encodeChunks(kept));
}
