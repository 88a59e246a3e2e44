/**
 * Turns an untrusted image into what a vision model is sent: decoded by sharp (libvips) with
 * a pixel limit (a decompression bomb is refused before it is decoded), turned upright (EXIF
 * orientation), downscaled to the configured longest side keeping its aspect ratio, and
 * re-encoded as JPEG within the configured size. Re-encoding drops every metadata block
 * (EXIF with GPS position, XMP, ICC comments): nothing but pixels reaches the model.
 */
import { MediaError } from './MediaError.js';
import { describeError } from '../util/describeError.js';

export interface ImageLimits {
  /** Longest side of the result, in pixels. */
  maxSide: number;
  /** Size of the result, in bytes. */
  maxBytes: number;
  /** Largest input accepted (width × height). */
  maxPixels: number;
}

export interface PreparedImage {
  data: Buffer;
  mime: 'image/jpeg';
  width: number;
  height: number;
}

/** JPEG qualities tried in turn until the result fits; then the image is made smaller. */
const QUALITIES = [85, 70, 55, 40];
const SHRINK_STEP = 0.75;

type Sharp = (typeof import('sharp'))['default'];
let sharpModule: Promise<Sharp> | null = null;

/** Loaded with the first image, not at start: libvips is resident memory a text-only bridge does not need. */
function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then((m) => m.default as Sharp);
  return sharpModule;
}

export async function prepareImage(input: Buffer, limits: ImageLimits): Promise<PreparedImage> {
  const sharp = await loadSharp();
  let side = limits.maxSide;
  try {
    const meta = await sharp(input, { limitInputPixels: limits.maxPixels }).metadata();
    if (!meta.width || !meta.height) throw new MediaError('unreadable', 'it has no size');
    side = Math.min(side, Math.max(meta.width, meta.height));
    for (;;) {
      for (const quality of QUALITIES) {
        const { data, info } = await sharp(input, { limitInputPixels: limits.maxPixels, failOn: 'error' })
          .rotate()
          .resize({ width: side, height: side, fit: 'inside', withoutEnlargement: true })
          .flatten({ background: '#ffffff' })
          .jpeg({ quality, mozjpeg: true })
          .toBuffer({ resolveWithObject: true });
        if (data.length <= limits.maxBytes || side <= 64) return { data, mime: 'image/jpeg', width: info.width, height: info.height };
      }
      side = Math.max(64, Math.floor(side * SHRINK_STEP));
    }
  } catch (err) {
    if (err instanceof MediaError) throw err;
    const message = describeError(err);
    if (/pixel limit/i.test(message)) throw new MediaError('too_many_pixels', `it has more than ${limits.maxPixels.toLocaleString('en')} pixels`);
    throw new MediaError('unreadable', 'it is damaged or cut short', { cause: err });
  }
}

/**
 * Tokens an image is counted as in the prompt budget: OpenAI's published rule for detailed
 * images (85 plus 170 per 512-pixel tile after scaling the shorter side to at most 768), the
 * most any OpenAI-compatible server we know charges for an image of this size; llama.cpp's
 * projectors take fewer or about as many (Gemma 3: 256, Qwen2.5-VL: one per 28×28 patch,
 * ~1,000 for 1024×768). A 1024×768 image: 765 tokens.
 */
export function imageTokens(width: number, height: number): number {
  let w = width;
  let h = height;
  const fit = Math.min(1, 2048 / Math.max(w, h));
  w *= fit;
  h *= fit;
  const short = Math.min(1, 768 / Math.min(w, h));
  w *= short;
  h *= short;
  return 85 + 170 * Math.ceil(w / 512) * Math.ceil(h / 512);
}
