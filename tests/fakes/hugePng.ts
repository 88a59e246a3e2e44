/**
 * A decompression bomb in 177 bytes: a valid PNG header (signature, IHDR with CRC-32) that
 * claims `width` × `height` greyscale pixels, one compressed row of data and IEND. Decoding
 * it would need width × height bytes (10 GB for 100,000²); a reader must refuse it from the
 * header. Made here, so a test holds nothing big.
 */
import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

export function hugePng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth; colour type 0 (grey), deflate, filter 0, no interlace
  const firstRow = deflateSync(Buffer.alloc(width + 1));
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', firstRow), chunk('IEND', Buffer.alloc(0))]);
}
