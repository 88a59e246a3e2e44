/**
 * Names as people type them: `Zoe`, `zoe` and `ZOË` all mean the persona `Zoë`. Matching folds
 * both sides by Unicode's own data, not a hand table: compatibility decomposition (NFKD: `ë`
 * becomes `e` + a combining diaeresis, `ﬁ` becomes `fi`, a full-width `Ｚ` a `Z`), then the
 * combining marks used with Latin, Greek or Cyrillic letters (by Unicode's Script_Extensions:
 * the accents) are dropped, then case is folded (upper- then lower-casing, so `ß` and `SS`,
 * `ς` and `Σ` meet). Marks of other scripts (Devanagari vowel signs, Japanese sound marks)
 * are part of the letter there, not accents, and are kept: different names stay different.
 */

import { LRUCache } from 'lru-cache';

const ACCENT = /(?=[\p{Script_Extensions=Inherited}\p{Script_Extensions=Latin}\p{Script_Extensions=Greek}\p{Script_Extensions=Cyrillic}])\p{M}/gu;

function foldCodePoint(ch: string): string {
  return ch.normalize('NFKD').replace(ACCENT, '').toUpperCase().toLowerCase();
}

/** Text with nothing outside ASCII: NFKD leaves it as it is, it has no accents, and case folding is toLowerCase. */
// eslint-disable-next-line no-control-regex
const ASCII_ONLY = /^[\u0000-\u007f]*$/;

/** Nothing outside ASCII in the text. */
export function isAscii(text: string): boolean {
  return ASCII_ONLY.test(text);
}

/**
 * Folded names, kept: the dispatcher checks every persona's names against every message, and
 * a name is folded the same each time (folding was ~6% of the bridge's CPU under ingest).
 * Bounded for bridges with many personas and room displaynames.
 */
const foldedNames = new LRUCache<string, string>({ max: 10_000 });

/** The folded form of a name: equal folded forms are the same name as people type it. */
export function foldName(name: string): string {
  let folded = foldedNames.get(name);
  if (folded === undefined) {
    folded = foldText(name).folded;
    foldedNames.set(name, folded);
  }
  return folded;
}

/** Folded text, and for each of its UTF-16 units the index in the original it came from. */
export interface FoldedText {
  folded: string;
  origin: number[];
}

/**
 * Folds a whole text (a message) keeping the way back to the original: a name found at
 * `i` in `folded` starts at `origin[i]` in the text. Folding is per code point, so the result
 * is the same as folding the text at once. ASCII is folded by toLowerCase, without the
 * per-character normalisation (most messages are ASCII, and names are looked for in each).
 */
export function foldText(text: string): FoldedText {
  if (isAscii(text)) return { folded: text.toLowerCase(), origin: Array.from({ length: text.length }, (_, i) => i) };
  let folded = '';
  const origin: number[] = [];
  let index = 0;
  for (const ch of text) {
    const f = ch.charCodeAt(0) < 0x80 ? ch.toLowerCase() : foldCodePoint(ch);
    folded += f;
    for (let i = 0; i < f.length; i++) origin.push(index);
    index += ch.length;
  }
  return { folded, origin };
}

export type NameMatch<T> = { kind: 'one'; item: T } | { kind: 'none' } | { kind: 'ambiguous'; items: T[] };

/**
 * The item a typed name means. The closest agreement wins: the exact name, else the same
 * letters in another case, else the same folded name. Two or more at that level is
 * ambiguous (`Zoe` when there are both `Zoë` and `Zoé`): the caller names the candidates
 * rather than guess.
 */
export function matchName<T>(typed: string, items: Iterable<T>, nameOf: (item: T) => string): NameMatch<T> {
  const wanted = typed.trim();
  const all = [...items];
  const levels: ((name: string) => boolean)[] = [
    (name) => name === wanted,
    (name) => name.toLowerCase() === wanted.toLowerCase(),
    (name) => foldName(name) === foldName(wanted),
  ];
  for (const sameName of levels) {
    const found = all.filter((item) => sameName(nameOf(item)));
    if (found.length === 1) return { kind: 'one', item: found[0]! };
    if (found.length > 1) return { kind: 'ambiguous', items: found };
  }
  return { kind: 'none' };
}

/** A typed name that fits several personas: refused, naming them, so nobody acts on a guess. */
export class AmbiguousName extends Error {
  override name = 'AmbiguousName';
  constructor(
    readonly typed: string,
    readonly candidates: string[],
  ) {
    super(`'${typed}' could be ${candidates.map((c) => `'${c}'`).join(' or ')}: write the name as it is spelled.`);
  }
}

/** The one item a name means, undefined when none; AmbiguousName when several. */
export function findByName<T>(typed: string, items: Iterable<T>, nameOf: (item: T) => string): T | undefined {
  const match = matchName(typed, items, nameOf);
  if (match.kind === 'ambiguous') throw new AmbiguousName(typed, match.items.map(nameOf));
  return match.kind === 'one' ? match.item : undefined;
}
