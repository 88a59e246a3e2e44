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
import { foldName, foldText, type FoldedText } from '../util/nameFolding.js';

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
const patterns = new LRUCache<string, RegExp>({ max: 10_000 });

/**
 * The folded body of the message being checked: textMentionIndex runs once per persona for
 * the same message, which is folded once.
 */
let lastFolded: { text: string; folded: FoldedText } | null = null;
function folded(text: string): FoldedText {
  if (lastFolded?.text !== text) lastFolded = { text, folded: foldText(text) };
  return lastFolded.folded;
}

function cached(kind: 'word' | 'mxid', text: string): RegExp {
  const key = `${kind}\u0000${text}`;
  let pattern = patterns.get(key);
  if (!pattern) {
    pattern = kind === 'word' ? wholeWordPattern(text) : mxidPattern(text);
    patterns.set(key, pattern);
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
  const body = textOf(content, 'body');
  const html = textOf(content, 'formatted_body');
  const candidates: number[] = [];
  const userId = target.userId.toLowerCase();
  const pill = linkedUserIds(html).find((l) => l.userId.toLowerCase() === userId);
  if (pill) candidates.push(body.length + pill.index);
  const linkedInBody = linkedUserIds(body).find((l) => l.userId.toLowerCase() === userId);
  if (linkedInBody) candidates.push(linkedInBody.index);
  const mxid = cached('mxid', target.userId).exec(body);
  if (mxid) candidates.push(mxid.index);
  for (const name of target.names) {
    if (!name.trim()) continue;
    const text = folded(body);
    const found = cached('word', foldName(name.trim())).exec(text.folded);
    if (found) candidates.push(text.origin[found.index]!);
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
