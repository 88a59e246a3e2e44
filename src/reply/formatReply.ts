import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';
import { escapeRegExp } from '../util/escapeRegExp.js';
import { stripReasoning } from '../llm/reasoning.js';

const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

// Chat semantics: a single newline is a line break. HTML written by the model is shown as
// text, not interpreted: it is the model's words, not markup we chose to send.
const markdown = new Marked({ gfm: true, breaks: true, async: false }).use({
  renderer: {
    html: ({ text }) => escapeHtml(text),
  },
});

/** The HTML subset the Matrix spec recommends for `formatted_body`. */
const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    'font', 'del', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'p', 'a', 'ul', 'ol', 'sup', 'sub', 'li', 'b', 'i', 'u',
    'strong', 'em', 'strike', 's', 'code', 'hr', 'br', 'div', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'caption', 'pre',
    'span', 'details', 'summary',
  ],
  allowedAttributes: { a: ['href'], ol: ['start'], code: ['class'] },
  allowedClasses: { code: ['language-*'] },
  allowedSchemes: ['http', 'https', 'ftp', 'mailto', 'magnet'],
  // Matrix clients only load mxc:// images; a model's image link becomes a plain link.
  transformTags: {
    img: (_tag, attribs) => ({ tagName: 'a', attribs: { href: attribs.src ?? '' }, text: attribs.alt || attribs.src || 'image' }),
  },
  disallowedTagsMode: 'discard',
};

/**
 * Markdown from the model as sanitised Matrix HTML, or null when the text has no formatting
 * (plain `body` alone is then the better message).
 */
export function markdownToHtml(text: string): string | null {
  const html = sanitizeHtml(markdown.parse(text) as string, SANITIZE).trim();
  // One paragraph of text and line breaks says nothing the plain body does not.
  return html === '' || /^<p>(?:[^<]|<br \/>|<br>)*<\/p>$/.test(html) ? null : html;
}

/**
 * What the model wrote, minus what must not reach the room: reasoning blocks some local
 * models emit (`<think>…</think>`) and the persona's own name as a prefix, which models
 * copy from the transcript format.
 */
export function cleanModelText(text: string, personaName: string): string {
  let out = stripReasoning(text);
  const name = escapeRegExp(personaName);
  out = out.replace(new RegExp(`^\\s*(\\*\\*)?${name}(\\*\\*)?\\s*:(\\*\\*)?\\s*`, 'i'), '');
  return out.trim();
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})(.*)$/;

/** The opening line of a code fence left open at the end of `text`, if any. */
function openFence(text: string): { line: string; marker: string } | null {
  let open: { line: string; marker: string } | null = null;
  for (const line of text.split('\n')) {
    const m = FENCE.exec(line);
    if (!m) continue;
    if (!open) open = { line: line.trim(), marker: m[1]! };
    else if (m[1]!.startsWith(open.marker[0]!) && m[1]!.length >= open.marker.length && !m[2]!.trim()) open = null;
  }
  return open;
}

/** Where to cut `text` to at most `limit` characters: a paragraph, a line, a sentence, a word, or hard. */
function bestCut(text: string, limit: number): number {
  const window = text.slice(0, limit + 1);
  const atLeast = Math.floor(limit / 2);
  const candidates = [window.lastIndexOf('\n\n'), window.lastIndexOf('\n')];
  for (const at of candidates) if (at >= atLeast) return at;
  const sentence = [...window.matchAll(/[.!?…]["')\]]?\s/g)].at(-1);
  if (sentence && sentence.index + sentence[0].length - 1 >= atLeast) return sentence.index + sentence[0].length - 1;
  const space = window.lastIndexOf(' ');
  if (space >= Math.floor(limit / 3)) return space;
  // No break anywhere: cut hard, but never between the halves of a surrogate pair.
  const code = text.charCodeAt(limit - 1);
  return code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit;
}

/**
 * Splits text longer than `maxChars` into messages, at the most natural break available
 * (paragraph, line, sentence, word). A code block cut in two is closed at the end of one
 * part and reopened, with its language, at the start of the next.
 */
export function splitMessage(text: string, maxChars: number): string[] {
  if (maxChars < 20) throw new RangeError('maxChars must be at least 20');
  const parts: string[] = [];
  let rest = text.trim();
  while (rest) {
    if (rest.length <= maxChars) {
      parts.push(rest);
      break;
    }
    // Room for closing a fence we may cut inside of.
    const cut = bestCut(rest, maxChars - 8);
    let head = rest.slice(0, cut).trimEnd();
    let tail = rest.slice(cut).replace(/^[ \t]*\n?/, '');
    const fence = openFence(head);
    // (An absurdly long fence line is not repeated: reopening it could eat all progress.)
    if (fence && fence.line.length <= maxChars / 4) {
      head += `\n${fence.marker}`;
      tail = `${fence.line}\n${tail}`;
    } else {
      tail = tail.replace(/^\s+/, '');
    }
    if (head) parts.push(head);
    rest = tail;
  }
  return parts;
}
