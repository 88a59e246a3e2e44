/**
 * The one way the bridge downloads something an admin or a file named (avatars, character
 * cards): a byte cap enforced while streaming (the download is aborted past it, whatever
 * Content-Length said), one timeout for the whole transfer, and no requests to loopback,
 * private, link-local or otherwise internal addresses unless the config allows them (an admin
 * command must not become a port scanner of the bridge's network). Redirects are followed by
 * hand, each target checked the same way. Local files only from one directory.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { open, realpath } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { sep } from 'node:path';
import { describeError } from '../util/describeError.js';

export class FetchRefused extends Error {
  override name = 'FetchRefused';
}

export type FetchLike = (url: string, init: { signal: AbortSignal; redirect: 'manual' }) => Promise<Response>;
export type Lookup = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface SafeFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  /** `fetch.allow_private_addresses`: a bridge on a LAN may want avatars from a LAN server. */
  allowPrivate?: boolean;
  maxRedirects?: number;
  /**
   * Sent with the request (the homeserver's Authorization for media), never to another
   * origin: a redirect elsewhere goes without them.
   */
  headers?: Record<string, string>;
  /** Tests: a fake network. */
  fetch?: FetchLike;
  lookup?: Lookup;
}

export interface Downloaded {
  data: Buffer;
  contentType: string | null;
  /** The URL the body came from, after redirects. */
  url: string;
  /** The last path segment, decoded ('download' when there is none). */
  filename: string;
}

/**
 * Only global unicast addresses may be reached by default. ipaddr.js keeps the IANA IPv4 and
 * IPv6 special-purpose registries (private, loopback, link-local, CGNAT, documentation,
 * benchmarking, multicast, reserved, and the IPv6 forms that carry an IPv4 address: NAT64
 * 64:ff9b::/96 and 64:ff9b:1::/48, 6to4, Teredo, SIIT): anything it does not call 'unicast' is
 * refused. IPv4-mapped addresses are their IPv4 address. ::/8 is added by hand: IANA reserves
 * it whole, but ipaddr.js names only ::, ::1 and the mapped block in it, so the deprecated
 * IPv4-compatible ::a.b.c.d (::/96, which reaches a.b.c.d on some stacks) would pass.
 */
const IETF_RESERVED_V6 = ipaddr.parseCIDR('::/8');

/** True for every address but global unicast ones (loopback, private, link-local, NAT64, reserved...). */
export function isInternalAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) ip = v6.toIPv4Address();
    else if (v6.match(IETF_RESERVED_V6)) return true;
  }
  return ip.range() !== 'unicast';
}

const defaultLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

type Address = { address: string; family: number };

/**
 * Refuses a URL that is not http(s) or whose host resolves to an internal address. Returns the
 * checked addresses (null: let the connection resolve, private addresses being allowed), which
 * the request then connects to: a second lookup could answer differently (DNS rebinding).
 */
async function checkTarget(url: URL, opts: SafeFetchOptions): Promise<Address[] | null> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchRefused(`'${url.href}' is not an http(s) URL`);
  if (opts.allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: Address[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await (opts.lookup ?? defaultLookup)(host);
    } catch (err) {
      throw new FetchRefused(`cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`);
    }
  }
  // The same message whatever the address or port: the refusal must not tell what is there.
  if (addresses.length === 0 || addresses.some((a) => isInternalAddress(a.address))) {
    throw new FetchRefused(`${url.host} is a local or private address; downloads from there are not allowed (fetch.allow_private_addresses)`);
  }
  return addresses;
}

/** A response as the download loop needs it, from node:http or (tests) a fetch Response. */
interface Fetched {
  status: number;
  header(name: string): string | null;
  /** Chunks as they arrive; reading pulls from the socket (backpressure). */
  body: AsyncIterable<Uint8Array> | null;
  /** Stops the transfer and frees the connection. */
  cancel(): Promise<void>;
}

function fromFetchResponse(response: Response): Fetched {
  return {
    status: response.status,
    header: (name) => response.headers.get(name),
    body: response.body,
    cancel: async () => {
      await response.body?.cancel().catch(() => undefined);
    },
  };
}

/** A resolver for node:net that answers with the addresses already checked, whatever the name. */
export function pinnedLookup(addresses: readonly Address[]): LookupFunction {
  return (_hostname, options, callback) => {
    // Node asks for all addresses when it may try several (autoSelectFamily, the default).
    if (options.all) (callback as (err: null, all: Address[]) => void)(null, [...addresses]);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
}

/**
 * The real transport: node:http(s), not fetch. fetch (undici) copies every chunk out of its
 * parser and queues it in a WHATWG stream; node:http hands over slices of the socket's reads.
 * Reading 10 MB through fetch raised the peak RSS by about twice as much as through node:http
 * (the garbage is only collected once V8's external-memory threshold, tens of MB, is reached).
 */
function nodeGet(url: URL, signal: AbortSignal, pinned: Address[] | null, headers: Record<string, string> = {}): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const lookup = pinned ? pinnedLookup(pinned) : undefined;
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { method: 'GET', signal, headers: { accept: '*/*', 'user-agent': 'matrix-appservice-personas', ...headers }, ...(lookup ? { lookup } : {}) },
      (res: IncomingMessage) =>
        resolve({
          status: res.statusCode ?? 0,
          header: (name) => {
            const value = res.headers[name.toLowerCase()];
            return Array.isArray(value) ? value.join(', ') : (value ?? null);
          },
          body: res,
          cancel: async () => {
            res.destroy();
          },
        }),
    );
    req.once('error', reject);
    req.end();
  });
}

/**
 * Downloads `url` within the options' limits. Throws FetchRefused (with a message for the
 * admin) for every refusal and failure.
 */
export async function safeDownload(url: string, opts: SafeFetchOptions): Promise<Downloaded> {
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new FetchRefused(`'${url}' is not a valid URL`);
  }
  const origin = current.origin;
  const signal = AbortSignal.timeout(opts.timeoutMs);
  const injected = opts.fetch;
  const get = injected
    ? async (u: URL) => fromFetchResponse(await injected(u.href, { signal, redirect: 'manual' }))
    : (u: URL, pinned: Address[] | null) => nodeGet(u, signal, pinned, u.origin === origin ? opts.headers : {});
  const maxRedirects = opts.maxRedirects ?? 5;
  let response: Fetched | null = null;
  for (let hop = 0; ; hop++) {
    const pinned = await checkTarget(current, opts);
    try {
      response = await get(current, pinned);
    } catch (err) {
      throw new FetchRefused(`cannot download ${current.href}: ${signal.aborted ? `no answer within ${opts.timeoutMs / 1000} s` : describeError(err)}`);
    }
    const location = response.status >= 300 && response.status < 400 ? response.header('location') : null;
    if (!location) break;
    await response.cancel();
    if (hop >= maxRedirects) throw new FetchRefused(`cannot download ${url}: more than ${maxRedirects} redirects`);
    try {
      current = new URL(location, current);
    } catch {
      throw new FetchRefused(`cannot download ${url}: bad redirect target`);
    }
  }
  if (response.status < 200 || response.status > 299) {
    await response.cancel();
    throw new FetchRefused(`cannot download ${current.href}: HTTP ${response.status}`);
  }
  const tooBig = () => new FetchRefused(`${current.href} is larger than the ${formatByteLimit(opts.maxBytes)} limit`);
  if (Number(response.header('content-length') ?? 0) > opts.maxBytes) {
    await response.cancel();
    throw tooBig();
  }
  let data: Buffer;
  try {
    data = await readCapped(response, opts.maxBytes, tooBig);
  } catch (err) {
    if (err instanceof FetchRefused) throw err;
    throw new FetchRefused(`cannot download ${current.href}: ${signal.aborted ? `no complete answer within ${opts.timeoutMs / 1000} s` : describeError(err)}`);
  }
  let filename = current.pathname.split('/').pop() ?? '';
  try {
    filename = decodeURIComponent(filename);
  } catch {
    // keep it encoded
  }
  return { data, contentType: response.header('content-type'), url: current.href, filename: filename || 'download' };
}

/**
 * The body, at most `maxBytes`, read chunk by chunk; past the cap the download is cancelled.
 * Chunks are kept as they came (no copy each) and joined once, at the end, only when the
 * whole body fits: a body that turns out too big never costs more than the cap.
 */
async function readCapped(response: Fetched, maxBytes: number, tooBig: () => Error): Promise<Buffer> {
  const body = response.body;
  if (!body) return Buffer.alloc(0);
  let chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > maxBytes) {
      chunks = [];
      await response.cancel();
      throw tooBig();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Reads a local file for a `file://` reference, only from inside `allowedDir` (symlinks
 * resolved first, so a link cannot lead out) and at most `maxBytes`.
 */
export async function readAllowedFile(path: string, allowedDir: string, maxBytes: number): Promise<Buffer> {
  let real: string;
  let root: string;
  try {
    [real, root] = await Promise.all([realpath(path), realpath(allowedDir)]);
  } catch (err) {
    throw new FetchRefused(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`);
  }
  if (real !== root && !real.startsWith(root.endsWith(sep) ? root : root + sep)) {
    throw new FetchRefused(`${path} is outside ${allowedDir}; local files are read only from there`);
  }
  const file = await open(real, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new FetchRefused(`cannot read ${path}: ${err.code ?? err.message}`);
  });
  try {
    const size = (await file.stat()).size;
    if (size > maxBytes) throw new FetchRefused(`${path} is larger than the ${formatByteLimit(maxBytes)} limit`);
    const buffer = Buffer.alloc(Math.min(size, maxBytes) + 1);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    if (bytesRead > maxBytes) throw new FetchRefused(`${path} is larger than the ${formatByteLimit(maxBytes)} limit`);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** A download cap as refusals name it: `8 MiB`, `300 bytes`. */
export function formatByteLimit(n: number): string {
  return n >= 1024 * 1024 ? `${Math.floor(n / 1024 / 1024)} MiB` : `${n} bytes`;
}
