/**
 * Turning free text (the message being answered, a `!search` query) into terms for the
 * full-text index (migrations/004-recall.sql). Pure; the index does the stemming (Porter),
 * so a term here is a lower-cased word as the index's unicode61 tokenizer splits it.
 */

/**
 * Words that say nothing about a topic: English function words, chat filler and question
 * words. Contractions appear as the index splits them ("don't" -> "don", "t").
 */
const STOP_WORDS = new Set(
  (
    'a about above after again against all also am an and any are aren as at be because been before being below between both but by ' +
    'can cannot could couldn did didn do does doesn doing don down during each else ever few for from further get got had hadn has hasn ' +
    'have haven having he her here hers herself him himself his how however i if in into is isn it its itself just let ll me might more ' +
    'most much must mustn my myself no nor not now of off on once one only or other ought our ours ourselves out over own please ' +
    're really same say said shall shan she should shouldn so some such than that the their theirs them themselves then there these ' +
    'they this those through thing things to too under until up upon us ve very was wasn we were weren what when where which while ' +
    'who whom whose why will with won would wouldn yes yet you your yours yourself yourselves ' +
    // chat filler and question framing
    'hi hey hello ok okay yeah yep nope oh ah um uh hmm lol thanks thank pls remember recall tell know think want like ' +
    'again anyone anything everyone everything someone something somebody nothing way well still even back going gonna'
  ).split(' '),
);

/** Most terms one query uses: each costs one index lookup. */
export const MAX_QUERY_TERMS = 12;

/** Below this length a word is matched exactly ("cat" must not find "category"). */
const MIN_PREFIX_LENGTH = 5;

/** Words as the index's tokenizer splits them (letters and digits; everything else separates). */
export function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/**
 * The distinct topic words of a text, at most `max` of them (the longest first when there
 * are more: long words are the specific ones), in order of appearance.
 */
export function queryTerms(text: string, max = MAX_QUERY_TERMS): string[] {
  const seen = new Set<string>();
  const terms: string[] = [];
  for (const word of words(text)) {
    if (seen.has(word)) continue;
    seen.add(word);
    // Single letters and stop words carry no topic; numbers always do ("42", "1999").
    if (STOP_WORDS.has(word)) continue;
    if (word.length < 2 && !/\p{N}/u.test(word)) continue;
    terms.push(word);
  }
  if (terms.length <= max) return terms;
  const keep = new Set([...terms].sort((a, b) => b.length - a.length).slice(0, max));
  return terms.filter((t) => keep.has(t));
}

/**
 * The FTS5 expression matching one term: quoted (no query syntax can leak in). The index
 * stems (Porter), so an exact term already finds the word's other forms ("birthday" finds
 * "birthdays", "photographer" finds "photographs"); with `prefixes`, longer words also match
 * as prefixes ("photo" finds "photography"), at a cost that grows with the whole index (see
 * MessageSearch). Terms come from {@link words}: letters and digits only.
 */
export function termExpression(term: string, prefixes = true): string {
  return prefixes && term.length >= MIN_PREFIX_LENGTH ? `"${term}"*` : `"${term}"`;
}

/** The FTS5 query for one term within one room (see the `room` column of memory_fts). */
export function roomTermQuery(roomId: string, term: string, prefixes = true): string {
  return `room : "${roomToken(roomId)}" AND body : ${termExpression(term, prefixes)}`;
}

/** How memory_fts spells a room: hex(room_id) in SQLite, upper-case hex of its UTF-8 bytes. */
export function roomToken(roomId: string): string {
  return Buffer.from(roomId, 'utf8').toString('hex').toUpperCase();
}
