// The png-chunks-* packages ship no types; these cover the calls we make.
declare module 'png-chunks-extract' {
  /** Splits a PNG into its chunks (IHDR first, IEND last); throws on a bad header or CRC. */
  export default function extractChunks(data: Uint8Array): Array<{ name: string; data: Uint8Array }>;
}

declare module 'png-chunks-encode' {
  /** Writes chunks back into a PNG, computing each CRC. */
  export default function encodeChunks(chunks: Array<{ name: string; data: Uint8Array }>): Uint8Array;
}

declare module 'png-chunk-text' {
  /** A tEXt chunk: Latin-1 keyword and text. */
  export function encode(keyword: string, text: string): { name: 'tEXt'; data: Uint8Array };
  export function decode(chunk: { name: string; data: Uint8Array } | Uint8Array): { keyword: string; text: string };
}
