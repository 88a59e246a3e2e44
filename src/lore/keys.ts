import { RE2JS } from 're2js';
import { escapeRegExp } from '../util/escapeRegExp.js';

/**
 * Matching one lorebook key against the text scanned, as SillyTavern does (its `matchKeys`):
 * a key written `/pattern/flags` is a regular expression and its own flags decide case;
 * any other key is plain text, found anywhere (or as a whole word, when asked), in any case
 * unless the entry is case-sensitive.
 *
 * Regular expressions come from files anyone can write, so they run on RE2 (re2js, a
 * JavaScript port: no native build), whose matching time is linear in the text: no pattern
 * can make a scan hang (`(a+)+$` is as quick as `a`). Patterns RE2 cannot run (look-ahead,
 * back-references) never match, as the V3 spec asks of invalid ones.
 */

/** Longest pattern compiled; longer keys never match (a card has no use for more). */
export const MAX_PATTERN_CHARS = 1000;
/** Compiled patterns kept (most recently used). */
const CACHE_SIZE = 2000;

export interface KeyRules {
  caseSensitive: boolean;
  /** Plain keys of one word match only between non-word characters. */
  wholeWords: boolean;
  /** False: `/…/` keys are plain text too (an entry with `use_regex: false`). */
  regex: boolean;
}

/** The text scanned, and its lower-case form, made once for all keys. */
export interface ScanText {
  text: string;
  lower: string;
}

export function scanText(text: string): ScanText {
  return { text, lower: text.toLowerCase() };
}

export function keyMatches(scan: ScanText, key: string, rules: KeyRules): boolean {
  const needle = key.trim();
  if (!needle) return false;
  const regex = rules.regex ? regexKey(needle) : null;
  if (regex) return compiled(regex.pattern, regex.flags)?.test(scan.text) ?? false;
  const haystack = rules.caseSensitive ? scan.text : scan.lower;
  const word = rules.caseSensitive ? needle : needle.toLowerCase();
  if (!rules.wholeWords || /\s/.test(word)) return haystack.includes(word);
  // An escaped literal: no pattern a card writes reaches the regular expression engine here.
  return new RegExp(`(?:^|\\W)(${escapeRegExp(word)})(?:$|\\W)`).test(haystack);
}

/**
 * `/pattern/flags` → its parts, or null for a plain key. SillyTavern's rule: flags among
 * `gimsuy`, and every `/` inside the pattern escaped.
 */
export function regexKey(key: string): { pattern: string; flags: string } | null {
  const match = /^\/([\s\S]+?)\/([gimsuy]*)$/.exec(key);
  if (!match) return null;
  const [, pattern = '', flags = ''] = match;
  if (/(^|[^\\])\//.test(pattern)) return null;
  return { pattern: pattern.replace(/\\\//g, '/'), flags };
}

const cache = new Map<string, RE2JS | null>();

/** The compiled pattern, or null when RE2 cannot run it (then the key never matches). */
function compiled(pattern: string, flags: string): RE2JS | null {
  const id = `${flags}/${pattern}`;
  const hit = cache.get(id);
  if (hit !== undefined) {
    cache.delete(id);
    cache.set(id, hit);
    return hit;
  }
  let result: RE2JS | null = null;
  if (pattern.length <= MAX_PATTERN_CHARS) {
    try {
      result = RE2JS.compile(pattern, re2Flags(flags));
    } catch {
      result = null;
    }
  }
  cache.set(id, result);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return result;
}

/** JavaScript's flags in RE2's terms; g, y and u change nothing for a yes/no test (RE2 is Unicode-aware). */
function re2Flags(flags: string): number {
  let out = 0;
  if (flags.includes('i')) out |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) out |= RE2JS.MULTILINE;
  if (flags.includes('s')) out |= RE2JS.DOTALL;
  return out;
}

/** True when the key is a regular expression RE2 cannot run (for the import summary). */
export function unusableRegexKey(key: string): boolean {
  const regex = regexKey(key.trim());
  return regex !== null && compiled(regex.pattern, regex.flags) === null;
}
