/** What personas say about media they cannot take in (every user-facing string of src/media). */
import type { MediaError } from './MediaError.js';
import type { MediaRef } from './mediaRef.js';

/** A file that cannot be read, told each time: `I couldn't open cat.png: it is larger than 20 MB.` */
export function cannotOpen(ref: MediaRef, err: MediaError): string {
  const what = ref.voice ? 'your voice message' : ref.filename;
  if (err.code === 'unsupported') return `I can't open ${extensionOf(ref.filename) ?? 'these'} files (${ref.filename}): ${err.message}.`;
  return `I couldn't open ${what}: ${err.message}.`;
}

/** A service that failed (media repository, speech endpoint), told once per room until it works again. */
export function serviceDown(ref: MediaRef, err: MediaError): string {
  const what = ref.voice || ref.kind === 'audio' ? 'listen to voice messages' : ref.kind === 'image' ? 'look at images' : 'open files';
  return `I can't ${what} right now (${err.message}). I'll say when it works again by answering the next one.`;
}

export const CANNOT_SEE = "I can't see images: my model has no vision. Tell me in words what it shows and I'll gladly talk about it.";
export const CANNOT_LISTEN = "I can't listen to voice messages here (no speech-to-text is set up). Please write instead.";
export const CANNOT_SPEAK_NOW = (reason: string): string => `I can't speak right now (${reason}); I'll answer in writing until it works again.`;

/** Said to the model in its system message, so it never pretends to perceive what it cannot. */
export const SENSE_NOTE_NO_VISION =
  "You cannot see images: images in the conversation appear as [image: name], with a description when one is known. If asked about an image you have no description of, say you cannot see it; never guess what it shows.";
export const SENSE_NOTE_NO_HEARING = 'You cannot listen to audio: voice messages appear as [voice message] without their words. If asked about one, say you could not hear it.';

/** `.zip`, or null without an extension. */
function extensionOf(filename: string): string | null {
  const match = /\.([A-Za-z0-9]{1,10})$/.exec(filename);
  return match ? `.${match[1]!.toLowerCase()}` : null;
}
