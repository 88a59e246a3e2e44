import { deflateSync } from 'node:zlib';
import encodeChunks from 'png-chunks-encode';
import * as pngText from 'png-chunk-text';

/**
 * A real, decodable PNG of one colour (8-bit RGB), made here so that tests need no image
 * files: optional tEXt chunks go before IEND, as card writers put them.
 */
export function solidPng(rgb: [number, number, number] = [200, 120, 40], size = 4, texts: Record<string, string> = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: size }, () => rgb).flat())]);
  const raw = Buffer.concat(Array.from({ length: size }, () => row));
  const chunks = [
    { name: 'IHDR', data: new Uint8Array(ihdr) },
    { name: 'IDAT', data: new Uint8Array(deflateSync(raw)) },
    ...Object.entries(texts).map(([k, v]) => pngText.encode(k, v)),
    { name: 'IEND', data: new Uint8Array(0) },
  ];
  return Buffer.from(encodeChunks(chunks));
}

/** A PNG character card: the card JSON base64-encoded in a tEXt chunk (`chara` for V2, `ccv3` for V3). */
export function cardPng(card: unknown, keyword = 'chara', rgb?: [number, number, number]): Buffer {
  return solidPng(rgb, 4, { [keyword]: Buffer.from(JSON.stringify(card), 'utf8').toString('base64') });
}
