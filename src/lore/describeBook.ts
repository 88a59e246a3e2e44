import type { CharacterBook } from './book.js';
import { unusableRegexKey } from './keys.js';

/** What an admin should know of a book just imported: its size and what will never match. */
export function describeBook(book: CharacterBook): { entries: number; disabled: number; unusableKeys: string[] } {
  const entries = book.entries.filter((e) => e && typeof e === 'object');
  const keys = entries.flatMap((e) => [...(Array.isArray(e.keys) ? e.keys : []), ...(Array.isArray(e.secondary_keys) ? e.secondary_keys : [])]);
  return {
    entries: entries.length,
    disabled: entries.filter((e) => e.enabled === false).length,
    unusableKeys: [...new Set(keys.filter((k) => typeof k === 'string' && unusableRegexKey(k)))],
  };
}
