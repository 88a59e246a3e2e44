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
 * Links `@Displayname` (whole word, case-insensitive) and bare MXIDs of the given members.
 * Pass the room's members other than the sender. Text inside existing links and code
 * (`<a>`, `<code>`, `<pre>`) is left alone. Longer names win over their prefixes
 * ("@Ada Lovelace" over "@Ada").
 */
export function linkMentions(text: string, html: string | null, members: readonly RoomMember[]): LinkedMessage {
  const needles = needlesFor(members);
  const mentioned = new Set<string>();
  const source = html ?? textToHtml(text);
  const linked = needles.length ? linkInHtml(source, needles, mentioned) : source;
  const userIds = [...mentioned];
  return {
    body: text,
    formatted_body: html === null && userIds.length === 0 ? null : linked,
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
function linkInHtml(html: string, needles: readonly Needle[], mentioned: Set<string>): string {
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
      return linkInText(part, needles, mentioned);
    })
    .join('');
}

/** A private-use character: never in real text, so it cannot collide. */
const PLACEHOLDER = '\uE000';

/** Replaces needles in one text run; a placeholder keeps inserted pills from being re-matched. */
function linkInText(text: string, needles: readonly Needle[], mentioned: Set<string>): string {
  const pills: string[] = [];
  let out = text;
  for (const needle of needles) {
    out = out.replace(needle.pattern, () => {
      mentioned.add(needle.userId);
      pills.push(`<a href="https://matrix.to/#/${escapeHtml(needle.userId)}">${escapeHtml(needle.label)}</a>`);
      return `${PLACEHOLDER}${pills.length - 1}${PLACEHOLDER}`;
    });
  }
  return out.replace(new RegExp(`${PLACEHOLDER}(\\d+)${PLACEHOLDER}`, 'g'), (_m, i: string) => pills[Number(i)] as string);
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function textToHtml(text: string): string {
  return escapeHtml(text).replace(/\n/g, '<br>');
}
