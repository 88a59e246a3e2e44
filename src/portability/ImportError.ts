/**
 * A card or export that cannot be imported; the message names the problem and is shown to
 * the admin as is. Nothing is created when one is thrown: parsing finishes before any
 * persona is spawned.
 */
export class ImportError extends Error {
  override name = 'ImportError';
  constructor(
    /** Stable machine-readable reason, for `--json` output and tests. */
    readonly code: 'too_large' | 'empty' | 'bad_png' | 'no_card' | 'bad_json' | 'unknown_format' | 'invalid' | 'bad_name' | 'too_deep',
    message: string,
  ) {
    super(message);
  }
}

/** Cards carry their avatar, so a few MB is normal; exports of hundreds of members stay far below. */
export const MAX_IMPORT_BYTES = 8 * 1024 * 1024;
/** Any one text field: a prompt longer than this cannot fit any model's context anyway. */
export const MAX_CARD_FIELD_CHARS = 100_000;

export const formatBytes = (n: number): string => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`);
