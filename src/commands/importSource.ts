import { readFile, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { MediaDownloadError, type DownloadFailure } from '../media/mediaDownload.js';
import { formatByteLimit } from '../net/safeFetch.js';
import { boundedDownload, DownloadError } from '../portability/boundedDownload.js';
import { formatBytes, ImportError, MAX_IMPORT_BYTES } from '../portability/ImportError.js';
import { UsageError, type CommandContext } from './CommandTable.js';

/** Media and events as the bot: the uploaded file to import. */
export interface ImportMedia {
  /** At most `maxBytes`, refused before or while reading (MediaDownloadError) when larger. */
  download(mxc: string, maxBytes: number, timeoutMs: number): Promise<{ data: Buffer; contentType: string | null }>;
  getEvent(roomId: string, eventId: string): Promise<Record<string, unknown>>;
}

export interface ImportSource {
  data: Buffer;
  filename: string;
}

export const DOWNLOAD_TIMEOUT_MS = 30_000;

const tooBig = (what: string, size: number) =>
  new ImportError('too_large', `${what} is ${formatBytes(size)}; imports are limited to ${formatBytes(MAX_IMPORT_BYTES)}.`);

/**
 * The file an import command names, wherever it is: an `mxc://` or `https://` URL (through
 * the safe download: size cap, timeout, no internal addresses), a path (console only), the
 * file the command was the caption of, or the file the command replies to. `what` names the
 * file in the hints ("the card or export", "the lorebook").
 */
export async function readImportSource(ctx: CommandContext, source: string | null, media: ImportMedia, what: string): Promise<ImportSource> {
  const downloadMxc = async (mxc: string, filename: string): Promise<ImportSource> => {
    try {
      const { data } = await media.download(mxc, MAX_IMPORT_BYTES, DOWNLOAD_TIMEOUT_MS);
      return { data, filename };
    } catch (err) {
      if (err instanceof MediaDownloadError) throw new DownloadError(`${mxc}: ${importDownloadMessage(err.failure)}`);
      throw err;
    }
  };
  const downloadFile = async (file: EventFile): Promise<ImportSource> => {
    if (file.size !== null && file.size > MAX_IMPORT_BYTES) throw tooBig(file.filename, file.size);
    return downloadMxc(file.url, file.filename);
  };
  if (source?.startsWith('mxc://')) return downloadMxc(source, basename(source));
  if (source && /^https?:\/\//i.test(source)) {
    const { data, filename } = await boundedDownload(source, { maxBytes: MAX_IMPORT_BYTES, timeoutMs: DOWNLOAD_TIMEOUT_MS });
    return { data, filename };
  }
  if (source) {
    // A path on the bridge's machine: only the console (whose user can read it anyway).
    if (ctx.via !== 'console') throw new UsageError('In chat, attach the file (with the command as its caption, or reply to it) or give an mxc:// or https:// URL.');
    const path = resolve(ctx.cwd ?? process.cwd(), source);
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      throw new ImportError('empty', `Cannot read ${path}: ${err.code ?? err.message}.`);
    });
    if (!info.isFile()) throw new ImportError('empty', `${path} is not a file.`);
    if (info.size > MAX_IMPORT_BYTES) throw tooBig(path, info.size);
    return { data: await readFile(path), filename: basename(path) };
  }
  const event = ctx.event;
  if (!event) throw new UsageError('Give the file: a path, or an mxc:// or https:// URL.');
  const own = fileOf(event.content);
  if (own) return downloadFile(own);
  const replyTo = repliedTo(event.content);
  if (replyTo) {
    const original = await media.getEvent(event.room_id, replyTo);
    const content = typeof original.content === 'object' && original.content !== null ? (original.content as Record<string, unknown>) : {};
    const file = fileOf(content);
    if (file) return downloadFile(file);
    throw new UsageError('The message you replied to has no file.');
  }
  throw new UsageError(`Attach ${what} (with the command as its caption), reply to it, or give an mxc:// or https:// URL.`);
}

/**
 * A failed mxc:// download as imports word it, the same as their https:// downloads
 * (src/net/safeFetch.ts): the admin sees the endpoint and the HTTP status.
 */
export function importDownloadMessage(failure: DownloadFailure): string {
  switch (failure.reason) {
    case 'not_mxc':
      return `'${failure.mxc}' is not an mxc:// URI`;
    case 'status':
      return `cannot download ${failure.url}: HTTP ${failure.status}`;
    case 'too_large':
      return `${failure.url} is larger than the ${formatByteLimit(failure.maxBytes)} limit`;
    case 'transport':
      return `cannot download ${failure.url}: ${failure.timedOut ? `no answer within ${failure.timeoutMs / 1000} s` : failure.detail}`;
  }
}

interface EventFile {
  url: string;
  filename: string;
  size: number | null;
}

/** The file of an m.file / m.image event's content, or null when it carries none. */
function fileOf(content: Record<string, unknown>): EventFile | null {
  if (typeof content.url !== 'string' || !content.url.startsWith('mxc://')) return null;
  const info = typeof content.info === 'object' && content.info !== null ? (content.info as Record<string, unknown>) : {};
  const filename = typeof content.filename === 'string' ? content.filename : typeof content.body === 'string' ? content.body : 'upload';
  return { url: content.url, filename: basename(filename), size: typeof info.size === 'number' ? info.size : null };
}

function repliedTo(content: Record<string, unknown>): string | null {
  const rel = content['m.relates_to'];
  if (typeof rel !== 'object' || rel === null) return null;
  const reply = (rel as Record<string, unknown>)['m.in_reply_to'];
  const id = typeof reply === 'object' && reply !== null ? (reply as Record<string, unknown>).event_id : undefined;
  return typeof id === 'string' ? id : null;
}
