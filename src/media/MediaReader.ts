/**
 * Reads one media message for a persona: checks what the event claims against the limits
 * before anything is fetched, downloads (capped), decrypts (hash checked), sniffs what the
 * bytes really are, and turns them into what a model takes: an image prepared for vision, the
 * text of a file, or the transcript of a voice message. Anything else is a MediaError that
 * says why, in words a notice can use.
 */
import { decryptAttachment } from './attachmentCrypto.js';
import { audioDurationMs } from './audioInfo.js';
import { prepareImage, type ImageLimits, type PreparedImage } from './imagePrep.js';
import { formatBytes } from './mediaDownload.js';
import { MediaError } from './MediaError.js';
import type { MediaRef } from './mediaRef.js';
import { sniffMedia, type Sniffed } from './sniff.js';
import { extractText } from './textExtract.js';

export type Reading =
  | { kind: 'image'; image: PreparedImage }
  | { kind: 'text'; text: string; cut: boolean; pages?: number }
  | { kind: 'transcript'; text: string; durationMs: number };

export interface MediaLimits extends ImageLimits {
  /** Largest download, bytes. */
  maxDownloadBytes: number;
  maxAudioMs: number;
  fileMaxTokens: number;
}

export interface MediaReaderDeps {
  /** Downloads an mxc:// URI, refusing (MediaError `too_large`) past maxBytes. */
  download(mxc: string, maxBytes: number): Promise<Buffer>;
  /** Speech to text; absent: voice messages cannot be read. */
  transcribe?: (audio: Buffer, mime: string, filename: string) => Promise<string>;
  limits: MediaLimits;
}

export class MediaReader {
  constructor(private readonly deps: MediaReaderDeps) {}

  get canTranscribe(): boolean {
    return this.deps.transcribe !== undefined;
  }

  async read(ref: MediaRef): Promise<Reading> {
    const { limits } = this.deps;
    if (ref.kind === 'video') throw new MediaError('unsupported', 'I cannot watch videos');
    if (ref.size !== null && ref.size > limits.maxDownloadBytes) {
      throw new MediaError('too_large', `it is ${formatBytes(ref.size)}, more than ${formatBytes(limits.maxDownloadBytes)}`);
    }
    if (ref.kind === 'audio' && ref.durationMs !== null && ref.durationMs > limits.maxAudioMs) throw tooLong(ref.durationMs, limits.maxAudioMs);
    let data = await this.deps.download(ref.mxc, limits.maxDownloadBytes);
    if (ref.encrypted) data = decryptAttachment(data, ref.encrypted);
    const sniffed = await sniffMedia(data);
    if (ref.kind === 'image' && sniffed.category !== 'image') throw notWhatItClaims('an image', sniffed);
    if (ref.kind === 'audio' && sniffed.category !== 'audio') throw notWhatItClaims('audio', sniffed);
    switch (sniffed.category) {
      case 'image':
        return { kind: 'image', image: await prepareImage(data, limits) };
      case 'audio':
        return this.transcribe(ref, data, sniffed);
      case 'text':
      case 'pdf':
        return { kind: 'text', ...(await extractText(data, sniffed, limits.fileMaxTokens)) };
      default:
        throw new MediaError('unsupported', `they are ${sniffed.label === 'binary' ? 'binary data' : `${sniffed.label} files`}, not text, an image or audio`);
    }
  }

  private async transcribe(ref: MediaRef, data: Buffer, sniffed: Sniffed): Promise<Reading> {
    const transcribe = this.deps.transcribe;
    if (!transcribe) throw new MediaError('unsupported', 'no speech-to-text is set up');
    // The container's own length, not the event's claim: a lie must not cost hours of transcription.
    const durationMs = await audioDurationMs(data, sniffed.mime);
    if (durationMs > this.deps.limits.maxAudioMs) throw tooLong(durationMs, this.deps.limits.maxAudioMs);
    const filename = /\.[A-Za-z0-9]{1,5}$/.test(ref.filename) ? ref.filename : `audio.${sniffed.label}`;
    return { kind: 'transcript', text: await transcribe(data, sniffed.mime, filename), durationMs };
  }
}

function notWhatItClaims(claimed: string, sniffed: Sniffed): MediaError {
  const actual = sniffed.label === 'binary' ? 'unknown binary data' : sniffed.label === 'text' ? 'text' : `${sniffed.label.toUpperCase()} data`;
  return new MediaError('mismatch', `it was sent as ${claimed} but is ${actual}`);
}

function tooLong(durationMs: number, maxMs: number): MediaError {
  return new MediaError('too_long', `it is ${formatDuration(durationMs)} long, more than the ${formatDuration(maxMs)} I can listen to`);
}

/** `3 h 0 min`, `12 min`, `45 s`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.round(s / 60)} min`;
  return `${s} s`;
}
