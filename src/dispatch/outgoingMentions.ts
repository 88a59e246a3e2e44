/**
 * Turns the way personas name each other in their replies (`@Ada`, `@ada:example.org`) into
 * real Matrix mentions: a pill in `formatted_body` and the user in `m.mentions`, so the
 * other persona (and the people's clients) see an intentional mention.
 */
import { escapeRegExp } from '../util/escapeRegExp.js';
import { mxidPattern } from './mentions.js';

export interface RoomMember {
  userId: string;
  displayName?: string | undefined;
}

export interface LinkedMessage {
  body: string;
  /** HTML with pills; null when there was no HTML and nothing to link. */
  formatted_body: string | null;
  /**
   * Always present, even when empty: with `m.mentions` receivers trust it instead of guessing
   * from names in the text, so a persona merely talking *about* another does not summon it.
   */
  mentions: { user_ids: string[] };
}

interface Needle {
  userId: string;
  /** What to look for in plain text. */
  text: string;
  /** The pill's visible text. */
  label: string;
  pattern: RegExp;
}

/**
 * Users a persona's message may notify: the first ones it names, in text order. A persona
 * that greets every member by name would otherwise highlight all of them (and, in a busy
 * room, summon every persona at once); the others still get a pill, just no notification.
 */
export const MAX_MENTIONS = 3;

/**
 * Links `@Displayname` (whole word, case-insensitive) and bare MXIDs of the given members.
 * Pass the room's members other than the sender. Text inside existing links and code
 * (`<a>`, `<code>`, `<pre>`) is left alone. Longer names win over their prefixes
 * ("@Ada Lovelace" over "@Ada"). `m.mentions` holds at most MAX_MENTIONS users, the first
 * named.
 */
export function linkMentions(text: string, html: string | null, members: readonly RoomMember[]): LinkedMessage {
  const needles = needlesFor(members);
  const named: string[] = [];
  const source = html ?? textToHtml(text);
  const linked = needles.length ? linkInHtml(source, needles, named) : source;
  const userIds = [...new Set(named)].slice(0, MAX_MENTIONS);
  return {
    body: text,
    formatted_body: html === null && named.length === 0 ? null : linked,
    mentions: { user_ids: userIds },
  };
}

function needlesFor(members: readonly RoomMember[]): Needle[] {
  const needles: Needle[] = [];
  for (const { userId, displayName } of members) {
    const label = displayName?.trim() || userId;
    needles.push({ userId, text: userId, label, pattern: mxidPattern(escapeHtml(userId), 'giu') });
    if (displayName?.trim()) {
      const name = `@${displayName.trim()}`;
      needles.push({ userId, text: name, label, pattern: atNamePattern(escapeHtml(name)) });
    }
  }
  // Longest first, so a longer name is linked before a shorter one it contains.
  return needles.sort((a, b) => b.text.length - a.text.length);
}

/** `@Name` as a whole word, not glued to a preceding word (an e-mail address is no mention). */
function atNamePattern(atName: string): RegExp {
  return new RegExp(`(?<![\\p{L}\\p{N}_.+-])${escapeRegExp(atName)}(?![\\p{L}\\p{N}_])`, 'giu');
}

/** Splits HTML into tags and text and links only text outside `<a>`, `<code>` and `<pre>`. */
function linkInHtml(html: string, needles: readonly Needle[], named: string[]): string {
  const parts = html.split(/(<[^>]*>)/);
  let protectedDepth = 0;
  return parts
    .map((part) => {
      const tag = /^<\s*(\/?)\s*(a|code|pre)\b/i.exec(part);
      if (tag) {
        protectedDepth = Math.max(0, protectedDepth + (tag[1] ? -1 : 1));
        return part;
      }
      if (part.startsWith('<') || protectedDepth > 0 || !part) return part;
      return linkInText(part, needles, named);
    })
    .join('');
}

/** A run of text, or a member it names. */
type Segment = string | Needle;

/**
 * Replaces needles in one text run. The run is cut into segments instead of marking pills
 * in-band, so nothing in the model's text (private-use characters included) can be taken
 * for a pill, and a pill is never searched again by a shorter needle. `named` receives the
 * users in text order.
 */
function linkInText(text: string, needles: readonly Needle[], named: string[]): string {
  let segments: Segment[] = [text];
  for (const needle of needles) {
    segments = segments.flatMap((segment) => (typeof segment === 'string' ? splitOn(segment, needle) : [segment]));
  }
  return segments
    .map((segment) => {
      if (typeof segment === 'string') return segment;
      named.push(segment.userId);
      return `<a href="https://matrix.to/#/${escapeHtml(segment.userId)}">${escapeHtml(segment.label)}</a>`;
    })
    .join('');
}

/** The text with each match of the needle as its own segment. */
function splitOn(text: string, needle: Needle): Segment[] {
  const out: Segment[] = [];
  let last = 0;
  for (const match of text.matchAll(needle.pattern)) {
    if (match.index > last) out.push(text.slice(last, match.index));
    out.push(needle);
    last = match.index + match[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function textToHtml(text: string): string {
  return escapeHtml(text).replace(/\n/g, '<br>');
}
