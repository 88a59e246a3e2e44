import type { CharacterBook } from './PersonaDraft.js';

/** Most lorebook text one prompt takes (characters), before the prompt's own budget cuts it further. */
export const MAX_LORE_CHARS = 4000;

/**
 * The lorebook entries a conversation calls up, as a character card reader would: enabled
 * entries that are `constant`, or one of whose keys appears in the recent messages (case
 * matters only for `case_sensitive` entries), in `insertion_order`; `{{char}}`/`{{user}}`
 * filled in as in the prompt.
 */
export function activeLore(book: CharacterBook | undefined, recentTexts: string[], charName: string, maxChars = MAX_LORE_CHARS): string[] {
  if (!book?.entries?.length) return [];
  const text = recentTexts.join('\n');
  const lower = text.toLowerCase();
  const hits = book.entries
    .filter((e) => e.enabled !== false && typeof e.content === 'string' && e.content.trim())
    .filter(
      (e) =>
        e.constant === true ||
        (e.keys ?? []).some((k) => typeof k === 'string' && k.trim() !== '' && (e.case_sensitive === true ? text.includes(k) : lower.includes(k.toLowerCase()))),
    )
    .sort((a, b) => (a.insertion_order ?? 0) - (b.insertion_order ?? 0));
  const out: string[] = [];
  let used = 0;
  for (const entry of hits) {
    const content = entry.content.replace(/\{\{char\}\}|<BOT>/gi, () => charName).replace(/\{\{user\}\}|<USER>/gi, 'the user').trim();
    if (used + content.length > maxChars) break;
    out.push(content);
    used += content.length;
  }
  return out;
}
