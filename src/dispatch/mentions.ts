/**
 * Is a persona mentioned in a message? Pure functions over the event content.
 *
 * Rules: when the content carries `m.mentions` (intentional mentions) it is the whole truth,
 * even when empty — the sender's client decided. Only when it is absent do we look at the
 * text: a matrix.to or matrix: URI pill in `formatted_body`, the MXID, or the displayname as
 * a whole word in `body`, without regard to case or accents ("zoe" names Zoë: util/nameFolding). A reply to one of the persona's own messages
 * counts either way (the caller resolves who sent the replied-to event).
 */

export interface MentionTarget {
  userId: string;
  /** Names the persona goes by (its name, its room displayname); empty ones are ignored. */
  names: readonly string[];
}

import { LRUCache } from 'lru-cache';
import { repliedToEventId } from '../matrix/relations.js';
import { escapeRegExp } from '../util/escapeRegExp.js';
import { foldName, foldText, isAscii, type FoldedText } from '../util/nameFolding.js';

type Content = Record<string, unknown>;

/** `m.mentions.user_ids` when the content has `m.mentions`, else null (no intentional mentions). */
export function intentionalMentions(content: Content): string[] | null {
  const mentions = content['m.mentions'];
  if (typeof mentions !== 'object' || mentions === null || Array.isArray(mentions)) return null;
  const ids = (mentions as { user_ids?: unknown }).user_ids;
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}


/** The name as a whole word: not glued to letters, digits or underscores on either side. */
export function wholeWordPattern(name: string, flags = 'iu'): RegExp {
  return new RegExp(`(?<![\\p{L}\\p{N}_])${escapeRegExp(name)}(?![\\p{L}\\p{N}_])`, flags);
}

/** An MXID in plain text: not part of a longer id or a longer server name. */
export function mxidPattern(userId: string, flags = 'i'): RegExp {
  return new RegExp(`(?<![\\w.=/+-])${escapeRegExp(userId)}(?![\\w-]|\\.\\w)`, flags);
}

/**
 * The non-global patterns textMentionIndex checks every message against, compiled once per
 * name or MXID instead of for every persona of every message (compiling the Unicode-aware
 * whole-word pattern was ~5% of the CPU under ingest, see BENCHMARKS.md). Safe to share:
 * without the `g` or `y` flag `exec` keeps no state. Bounded for bridges with many personas.
 */
const patterns = { word: new LRUCache<string, RegExp>({ max: 10_000 }), mxid: new LRUCache<string, RegExp>({ max: 10_000 }) };

/**
 * What textMentionIndex reads of the message being checked, worked out once: it runs once per
 * persona of the room (and of the bridge, for a person's message in a busy room) for the same
 * content. Keyed by the content object and its two texts, so a changed text is read again.
 */
interface MessageScan {
  content: Content;
  rawBody: unknown;
  rawHtml: unknown;
  body: string;
  /** Each linked user id (lower case) at its first place: in `formatted_body`, in `body`. */
  htmlPills: Map<string, number>;
  bodyLinks: Map<string, number>;
  folded: FoldedText | null;
  /** `body` in lower case, for the plain substring check before an ASCII MXID's pattern. */
  lowerBody: string | null;
}
let lastScan: MessageScan | null = null;

function scanOf(content: Content): MessageScan {
  const rawBody = content.body;
  const rawHtml = content.formatted_body;
  if (lastScan?.content === content && lastScan.rawBody === rawBody && lastScan.rawHtml === rawHtml) return lastScan;
  const body = textOf(content, 'body');
  lastScan = { content, rawBody, rawHtml, body, htmlPills: firstLinks(textOf(content, 'formatted_body')), bodyLinks: firstLinks(body), folded: null, lowerBody: null };
  return lastScan;
}

function firstLinks(text: string): Map<string, number> {
  const first = new Map<string, number>();
  for (const { userId, index } of linkedUserIds(text)) {
    const key = userId.toLowerCase();
    if (!first.has(key)) first.set(key, index);
  }
  return first;
}

/**
 * False only when `text` (lower case) cannot match the case-insensitive pattern of `needle`
 * (lower case): the patterns' Unicode-aware lookarounds were ~4% of the bridge's CPU under
 * ingest, run per persona per message though few messages name anyone. Only an ASCII needle
 * is checked this way: a case-insensitive ASCII letter matches only that letter in either
 * case (the `i` flag maps no other character onto ASCII; under `u` the Kelvin sign and the
 * long s would, but folded text has neither, and an MXID is checked without `u`), and
 * lower-casing the text keeps that letter in place.
 */
function mayContain(text: string, needle: string): boolean {
  return !isAscii(needle) || text.includes(needle);
}

function cached(kind: 'word' | 'mxid', text: string): RegExp {
  let pattern = patterns[kind].get(text);
  if (!pattern) {
    pattern = kind === 'word' ? wholeWordPattern(text) : mxidPattern(text);
    patterns[kind].set(text, pattern);
  }
  return pattern;
}

/**
 * User ids linked from text: `https://matrix.to/#/@user:server` (also URL-encoded, with a
 * `?via=` query or an HTML-escaped `&amp;`) and `matrix:u/user:server`.
 */
export function linkedUserIds(text: string): { userId: string; index: number }[] {
  const out: { userId: string; index: number }[] = [];
  const patterns = [/matrix\.to\/#\/((?:@|%40)[^\s"'<>?&/]+)/gi, /matrix:u\/([^\s"'<>?&/]+)/gi];
  for (const [i, pattern] of patterns.entries()) {
    for (const match of text.matchAll(pattern)) {
      let id: string;
      try {
        id = decodeURIComponent(match[1] as string);
      } catch {
        continue; // a malformed %-sequence is not a pill
      }
      out.push({ userId: i === 0 ? id : `@${id}`, index: match.index });
    }
  }
  return out.sort((a, b) => a.index - b.index);
}

/**
 * The message text without a reply fallback: older clients quote the replied-to message
 * (`> <@ada:hs> ...` lines in `body`, `<mx-reply>` in `formatted_body`), and a name in the
 * quote is not a mention.
 */
function textOf(content: Content, key: 'body' | 'formatted_body'): string {
  const text = content[key];
  if (typeof text !== 'string') return '';
  if (key === 'formatted_body') return text.replace(/^<mx-reply>[\s\S]*?<\/mx-reply>/, '');
  if (!repliedToEventId(content) || !text.startsWith('> ')) return text;
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length && (lines[i] as string).startsWith('>')) i++;
  if (lines[i] === '') i++;
  return lines.slice(i).join('\n');
}

/**
 * Where the persona is named in the message text (pill, MXID or name), or -1. Used both to
 * decide mentions without `m.mentions` and to order several mentioned personas. Positions in
 * `body` come first; a pill found only in `formatted_body` sorts after them.
 */
export function textMentionIndex(content: Content, target: MentionTarget): number {
  const scan = scanOf(content);
  const { body } = scan;
  const candidates: number[] = [];
  const userId = target.userId.toLowerCase();
  const pill = scan.htmlPills.get(userId);
  if (pill !== undefined) candidates.push(body.length + pill);
  const linkedInBody = scan.bodyLinks.get(userId);
  if (linkedInBody !== undefined) candidates.push(linkedInBody);
  scan.lowerBody ??= body.toLowerCase();
  const mxid = mayContain(scan.lowerBody, userId) ? cached('mxid', target.userId).exec(body) : null;
  if (mxid) candidates.push(mxid.index);
  for (const name of target.names) {
    if (!name.trim()) continue;
    scan.folded ??= foldText(body);
    const folded = foldName(name.trim());
    if (!mayContain(scan.folded.folded, folded)) continue;
    const found = cached('word', folded).exec(scan.folded.folded);
    if (found) candidates.push(scan.folded.origin[found.index]!);
  }
  return candidates.length ? Math.min(...candidates) : -1;
}

/** Is the persona mentioned, not counting replies (see {@link isAddressed}). */
export function isMentioned(content: Content, target: MentionTarget): boolean {
  const intentional = intentionalMentions(content);
  if (intentional) return intentional.includes(target.userId);
  return textMentionIndex(content, target) >= 0;
}

/** Mentioned, or the message replies to one of the persona's own messages. */
export function isAddressed(content: Content, target: MentionTarget, repliedToSender: string | null): boolean {
  return repliedToSender === target.userId || isMentioned(content, target);
}
