import { createHash } from 'node:crypto';
import { basename, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAllowedFile, safeDownload, type FetchLike, type Lookup } from '../net/safeFetch.js';
import { describeError } from '../util/describeError.js';

/** Larger images are refused: an avatar is shown at 32-96 px, and media repos cap uploads anyway. */
export const MAX_AVATAR_BYTES = 10 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 30_000;

/** Where an avatar comes from: already in the media repo, or to be uploaded there. */
export type AvatarSource = { kind: 'mxc'; uri: string } | { kind: 'http'; url: string } | { kind: 'file'; path: string };

export interface AvatarImage {
  data: Buffer;
  contentType: string;
  filename: string;
  /** Key for the upload cache: the URL for http(s), a content digest for files (which may change in place). */
  cacheKey: string;
}

/** A bad avatar reference or an unusable image; the message is shown to the admin. */
export class AvatarError extends Error {
  override name = 'AvatarError';
}

/**
 * Classifies an avatar reference: `mxc://server/id`, an `http(s)://` URL, a `file://` URL, or
 * (when `baseDir` is given, as for persona files) a path relative to it or absolute.
 */
export function parseAvatarSource(ref: string, baseDir?: string): AvatarSource {
  if (/^mxc:\/\//i.test(ref)) {
    if (!/^mxc:\/\/[^/\s]+\/[A-Za-z0-9_-]+$/.test(ref)) throw new AvatarError(`'${ref}' is not a valid mxc:// URI (mxc://server/media_id)`);
    return { kind: 'mxc', uri: ref };
  }
  if (/^https?:\/\//i.test(ref)) {
    try {
      return { kind: 'http', url: new URL(ref).toString() };
    } catch {
      throw new AvatarError(`'${ref}' is not a valid URL`);
    }
  }
  if (/^file:/i.test(ref)) {
    try {
      return { kind: 'file', path: fileURLToPath(ref) };
    } catch (err) {
      throw new AvatarError(`'${ref}' is not a valid file URL: ${describeError(err)}`);
    }
  }
  if (isAbsolute(ref)) return { kind: 'file', path: ref };
  if (baseDir !== undefined && ref.length > 0 && !/^[a-z][a-z0-9+.-]*:/i.test(ref)) return { kind: 'file', path: resolve(baseDir, ref) };
  throw new AvatarError(`avatar '${ref}' must be an mxc:// URI, an http(s):// URL or a file (file:///path)`);
}

/** Image type from the first bytes: the formats Matrix clients render as avatars. */
export function sniffImageType(data: Buffer): string | null {
  if (data.length >= 8 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  if (data.length >= 6 && /^GIF8[79]a$/.test(data.subarray(0, 6).toString('latin1'))) return 'image/gif';
  if (data.length >= 12 && data.subarray(0, 4).toString('latin1') === 'RIFF' && data.subarray(8, 12).toString('latin1') === 'WEBP') {
    return 'image/webp';
  }
  return null;
}

function checkImage(data: Buffer, what: string): string {
  if (data.length === 0) throw new AvatarError(`${what} is empty`);
  if (data.length > MAX_AVATAR_BYTES) throw new AvatarError(`${what} is larger than ${MAX_AVATAR_BYTES / 1024 / 1024} MB`);
  // Sniffed rather than trusted from the name or Content-Type: it also keeps a mistyped path
  // from uploading some other file of the bridge host to the media repo.
  const type = sniffImageType(data);
  if (!type) throw new AvatarError(`${what} is not a PNG, JPEG, GIF or WebP image`);
  return type;
}

export type Fetch = FetchLike;

/** Where avatars may come from (config `fetch.*`); tests add a fake resolver. */
export interface AvatarFetchPolicy {
  allowPrivate?: boolean;
  /** The only folder file references may read from; none: files are refused. */
  fileDirectory?: string;
  lookup?: Lookup;
}

/** Reads the image behind an http(s) or file source, checking it really is an image. */
export async function loadAvatarImage(
  source: Exclude<AvatarSource, { kind: 'mxc' }>,
  fetchImpl?: Fetch,
  policy: AvatarFetchPolicy = {},
): Promise<AvatarImage> {
  if (source.kind === 'file') {
    if (policy.fileDirectory === undefined) throw new AvatarError(`cannot read avatar file ${source.path}: local files are not allowed here`);
    let data: Buffer;
    try {
      data = await readAllowedFile(source.path, policy.fileDirectory, MAX_AVATAR_BYTES);
    } catch (err) {
      throw new AvatarError(`cannot read avatar file ${source.path}: ${describeError(err).replace(/^cannot read \S+: /, '')}`);
    }
    const contentType = checkImage(data, `avatar file ${source.path}`);
    const digest = createHash('sha256').update(data).digest('hex');
    return { data, contentType, filename: basename(source.path), cacheKey: `sha256:${digest}` };
  }
  let downloaded;
  try {
    downloaded = await safeDownload(source.url, {
      maxBytes: MAX_AVATAR_BYTES,
      timeoutMs: FETCH_TIMEOUT_MS,
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
      ...(policy.lookup ? { lookup: policy.lookup } : {}),
      allowPrivate: policy.allowPrivate ?? false,
    });
  } catch (err) {
    throw new AvatarError(`cannot download avatar ${source.url}: ${describeError(err).replace(/^cannot download \S+: /, '')}`);
  }
  const contentType = checkImage(downloaded.data, `avatar ${source.url}`);
  const filename = basename(new URL(downloaded.url).pathname) || 'avatar';
  return { data: downloaded.data, contentType, filename, cacheKey: source.url };
}
