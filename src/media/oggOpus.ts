/**
 * Ogg/Opus as voice messages need it (MSC3245/MSC1767): the header check (`OggS` capture
 * pattern, `OpusHead` identification packet), the duration from the last page's granule
 * position, and a waveform for Element to draw, decoded in slices (ogg-opus-decoder, WASM) so
 * a long answer never holds all of its PCM at once.
 */
import { MediaError } from './MediaError.js';

/** Opus always runs at 48 kHz, whatever the input's rate was. */
const OPUS_RATE = 48_000;
/** Bars in the waveform (MSC3246 asks for 30 to 120). */
export const WAVEFORM_BARS = 100;
/** The highest waveform value (MSC3246: integers 0..1024). */
const WAVEFORM_MAX = 1024;
/** Bytes of Ogg fed to the decoder at a time. */
const DECODE_SLICE = 16 * 1024;

interface OggPage {
  offset: number;
  length: number;
  granule: bigint;
}

/** The pages of an Ogg stream; throws when it is not one or is cut short. */
function oggPages(data: Buffer): OggPage[] {
  const pages: OggPage[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (data.length - offset < 27 || data.toString('latin1', offset, offset + 4) !== 'OggS') throw new MediaError('unreadable', 'it is not a complete Ogg stream');
    const segments = data[offset + 26]!;
    const headerLength = 27 + segments;
    if (offset + headerLength > data.length) throw new MediaError('unreadable', 'it is cut short');
    let bodyLength = 0;
    for (let i = 0; i < segments; i++) bodyLength += data[offset + 27 + i]!;
    const length = headerLength + bodyLength;
    if (offset + length > data.length) throw new MediaError('unreadable', 'it is cut short');
    pages.push({ offset, length, granule: data.readBigInt64LE(offset + 6) });
    offset += length;
  }
  return pages;
}

/** True for an Ogg stream whose first packet is Opus's identification header. */
export function isOggOpus(data: Buffer): boolean {
  if (data.length < 47 || data.toString('latin1', 0, 4) !== 'OggS') return false;
  const headerLength = 27 + data[26]!;
  return data.toString('latin1', headerLength, headerLength + 8) === 'OpusHead';
}

/** Length in ms, from the last granule position less the encoder's pre-skip. */
export function oggOpusDurationMs(data: Buffer): number {
  if (!isOggOpus(data)) throw new MediaError('mismatch', 'it is not Ogg/Opus');
  const pages = oggPages(data);
  const preSkip = data.readUInt16LE(27 + data[26]! + 10);
  const last = [...pages].reverse().find((p) => p.granule >= 0n);
  const samples = last ? Number(last.granule) - preSkip : 0;
  return Math.max(0, Math.round((samples / OPUS_RATE) * 1000));
}

export interface VoiceInfo {
  durationMs: number;
  /** WAVEFORM_BARS integers 0..1024, loudness (RMS) over equal slices of the message. */
  waveform: number[];
}

/** Duration and waveform of an Ogg/Opus voice message. */
export async function voiceInfo(data: Buffer): Promise<VoiceInfo> {
  const durationMs = oggOpusDurationMs(data);
  const totalSamples = Math.max(1, Math.round((durationMs / 1000) * OPUS_RATE));
  const sums = new Float64Array(WAVEFORM_BARS);
  const counts = new Uint32Array(WAVEFORM_BARS);
  const { OggOpusDecoder } = await import('ogg-opus-decoder');
  const decoder = new OggOpusDecoder();
  await decoder.ready;
  let position = 0;
  const add = (channel: Float32Array | undefined, samples: number) => {
    if (!channel) return;
    for (let i = 0; i < samples; i++, position++) {
      const bar = Math.min(WAVEFORM_BARS - 1, Math.floor((position / totalSamples) * WAVEFORM_BARS));
      sums[bar] += channel[i]! * channel[i]!;
      counts[bar]++;
    }
  };
  try {
    for (let offset = 0; offset < data.length; offset += DECODE_SLICE) {
      const { channelData, samplesDecoded } = await decoder.decode(new Uint8Array(data.subarray(offset, offset + DECODE_SLICE)));
      add(channelData[0], samplesDecoded);
    }
    const rest = await decoder.flush();
    add(rest.channelData[0], rest.samplesDecoded);
  } finally {
    decoder.free();
  }
  const rms = Array.from(sums, (sum, i) => (counts[i] ? Math.sqrt(sum / counts[i]!) : 0));
  const peak = Math.max(...rms, 1e-9);
  return { durationMs, waveform: rms.map((v) => Math.round((v / peak) * WAVEFORM_MAX)) };
}
