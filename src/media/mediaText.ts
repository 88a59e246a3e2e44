/**
 * How media messages read as text: in memory, in prompts, in summaries and in search. A
 * message keeps its placeholder until it is read; then its transcript, its text or its
 * description takes the placeholder's place.
 */
import type { MediaRef } from './mediaRef.js';

/** `[image: cat.png] look!`, `[voice message]`, `[file: notes.txt]`, `[sticker: wave]`. */
export function mediaPlaceholder(ref: MediaRef, sticker = false): string {
  return withCaption(`[${label(ref, sticker)}]`, ref);
}

function label(ref: MediaRef, sticker: boolean): string {
  if (ref.voice) return 'voice message';
  return `${sticker ? 'sticker' : ref.kind}: ${ref.filename}`;
}

function withCaption(text: string, ref: MediaRef): string {
  return ref.caption ? `${text} ${ref.caption}` : text;
}

/** An image once described: `[image: cat.png, showing: a ginger cat asleep] look!` */
export function describedImage(ref: MediaRef, description: string, sticker = false): string {
  return withCaption(`[${label(ref, sticker)}, showing: ${oneLine(description)}]`, ref);
}

/** What was said in a voice message (marked spoken): `[voice message] hello there` */
export function transcribed(ref: MediaRef, transcript: string): string {
  const said = oneLine(transcript) || '(nothing audible)';
  return withCaption(`[${ref.voice ? 'voice message' : `audio: ${ref.filename}, transcribed`}] ${said}`, ref);
}

/** A file read as text, its content on the lines after the label, with a note when cut. */
export function fileText(ref: MediaRef, text: string, cut: boolean, pages?: number): string {
  const what = pages ? `${ref.filename}, ${pages} page${pages === 1 ? '' : 's'}` : ref.filename;
  const note = cut ? '\n[… the file goes on; only its beginning is shown]' : '';
  return withCaption(`[file: ${what}]`, ref) + `\n${text}${note}`;
}

/** A media message that could not be read, and why. */
export function unreadable(ref: MediaRef, reason: string, sticker = false): string {
  return withCaption(`[${label(ref, sticker)} (could not be opened: ${reason})]`, ref);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
