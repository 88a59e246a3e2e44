/**
 * Why a media message could not be read. `kind` says whose fault: `input` (this file: too
 * big, not what it claims, broken; told each time), `endpoint` (a service that may come back:
 * the homeserver's media repository, the speech endpoint; told once per room per episode).
 */
export type MediaErrorCode =
  | 'too_large'
  | 'too_long'
  | 'too_many_pixels'
  | 'mismatch'
  | 'unreadable'
  | 'unsupported'
  | 'bad_hash'
  | 'bad_key'
  | 'not_found'
  | 'download_failed'
  | 'speech_failed';

const ENDPOINT_CODES: ReadonlySet<MediaErrorCode> = new Set(['download_failed', 'speech_failed']);

export class MediaError extends Error {
  override name = 'MediaError';
  constructor(
    readonly code: MediaErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** A fault of a service rather than of this file. */
  get transient(): boolean {
    return ENDPOINT_CODES.has(this.code);
  }
}
