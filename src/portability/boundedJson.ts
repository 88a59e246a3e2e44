import { ImportError } from './ImportError.js';

/**
 * Nesting deeper than any card, export or lorebook needs (their deepest parts, extensions
 * included, are a few levels down). JSON.parse itself copes with far deeper input, but
 * everything after it that walks the value recursively (JSON.stringify when the card is
 * stored, validation, cloning) overflows the stack: a card nested 100,000 deep was refused
 * only after its persona had been created.
 */
export const MAX_JSON_DEPTH = 64;

/** How deeply the arrays and objects of a JSON text nest, read without recursion; strings skipped. */
export function jsonNestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return deepest;
}

/** Throws an ImportError when `text` nests deeper than MAX_JSON_DEPTH; call it before JSON.parse. `what` names the file. */
export function refuseDeepJson(text: string, what: string): void {
  const depth = jsonNestingDepth(text);
  if (depth > MAX_JSON_DEPTH) throw new ImportError('too_deep', `${what} nests ${depth.toLocaleString('en')} levels deep; at most ${MAX_JSON_DEPTH} are allowed.`);
}
