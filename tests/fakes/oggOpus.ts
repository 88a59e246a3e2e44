/**
 * Real Ogg/Opus streams made here, so tests need no audio files: an Ogg muxer (pages with
 * CRC-32, RFC 3533) around Opus packets (RFC 6716), with the OpusHead/OpusTags headers of
 * RFC 7845. `silentOggOpus(seconds)` is a stream of 20 ms CELT frames of digital silence,
 * three bytes each: three hours of it are ~3.5 MB, and every decoder reads it as three hours.
 */

/** CRC-32 with Ogg's polynomial 0x04c11db7, no reflection, initial value 0. */
const CRC_TABLE = Array.from({ length: 256 }, (_, i) => {
  let r = i << 24;
  for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
  return r >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0;
  for (const byte of data) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
}

function page(packets: Buffer[], granule: bigint, sequence: number, flags: number, serial = 0x5eed): Buffer {
  const lacing: number[] = [];
  for (const packet of packets) {
    let left = packet.length;
    while (left >= 255) {
      lacing.push(255);
      left -= 255;
    }
    lacing.push(left);
  }
  const header = Buffer.alloc(27 + lacing.length);
  header.write('OggS', 0, 'latin1');
  header[4] = 0;
  header[5] = flags;
  header.writeBigInt64LE(granule, 6);
  header.writeUInt32LE(serial, 14);
  header.writeUInt32LE(sequence, 18);
  header[26] = lacing.length;
  lacing.forEach((l, i) => (header[27 + i] = l));
  const out = Buffer.concat([header, ...packets]);
  out.writeUInt32LE(crc32(out), 22);
  return out;
}

const PRE_SKIP = 312;
/** TOC 0xF8: CELT-only, fullband, 20 ms, one frame; then a frame that decodes to silence. */
const SILENT_FRAME = Buffer.from([0xf8, 0xff, 0xfe]);
const SAMPLES_PER_FRAME = 960;

export function silentOggOpus(seconds: number): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1; // version
  head[9] = 1; // mono
  head.writeUInt16LE(PRE_SKIP, 10);
  head.writeUInt32LE(48_000, 12);
  const tags = Buffer.concat([Buffer.from('OpusTags', 'latin1'), u32(5), Buffer.from('tests'), u32(0)]);
  const pages = [page([head], 0n, 0, 0x02), page([tags], 0n, 1, 0)];
  const frames = Math.ceil((seconds * 48_000) / SAMPLES_PER_FRAME);
  let sequence = 2;
  for (let done = 0; done < frames; ) {
    const count = Math.min(250, frames - done);
    done += count;
    const last = done === frames;
    pages.push(page(Array.from({ length: count }, () => SILENT_FRAME), BigInt(done * SAMPLES_PER_FRAME + PRE_SKIP), sequence++, last ? 0x04 : 0));
  }
  return Buffer.concat(pages);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
