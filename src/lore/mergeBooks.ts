import type { CharacterBook, LorebookEntry } from './book.js';

/**
 * One book of a card's own and the standalone books attached to the persona, for an export
 * (a card has one `character_book`): the entries of all, in that order. A book's `scan_depth`
 * that its entries do not set themselves is written into each of them (SillyTavern's
 * `extensions.scan_depth`), so they are scanned as before; the other book-level settings are
 * the card book's (or the first attached book's).
 */
export function mergeBooks(own: CharacterBook | undefined, attached: CharacterBook[]): CharacterBook | undefined {
  if (attached.length === 0) return own;
  const base = own ?? { ...attached[0]!, entries: [] };
  const entries: LorebookEntry[] = [...(own?.entries ?? []), ...attached.flatMap((book) => book.entries.map((e) => withBookDepth(e, book)))];
  return { ...base, entries };
}

function withBookDepth(entry: LorebookEntry, book: CharacterBook): LorebookEntry {
  const depth = book.scan_depth;
  if (typeof depth !== 'number' || typeof entry.extensions?.scan_depth === 'number') return entry;
  return { ...entry, extensions: { ...(entry.extensions ?? {}), scan_depth: depth } };
}
