import { errorOf, fetchJson, ProbeError, type FetchJsonOptions } from './fetchJson.js';

/**
 * The spec versions the homeserver's client API advertises (GET /_matrix/client/versions,
 * which needs no auth). Throws a ProbeError when it does not answer like a homeserver.
 */
export async function homeserverVersions(baseUrl: string, opts: FetchJsonOptions): Promise<string[]> {
  const url = `${baseUrl.replace(/\/+$/, '')}/_matrix/client/versions`;
  const { status, json } = await fetchJson(url, opts);
  const versions = (json as { versions?: unknown } | null)?.versions;
  if (status !== 200 || !Array.isArray(versions)) {
    throw new ProbeError(`${url}: HTTP ${status}, not a Matrix client API answer`, status);
  }
  return versions.filter((v): v is string => typeof v === 'string');
}

/**
 * Who the homeserver says the appservice token acts as, asking as `userId` (the bridge bot:
 * the registration's sender, which the homeserver accepts without it being registered yet).
 * Throws a ProbeError carrying the HTTP status and Matrix errcode when it refuses.
 */
export async function whoamiAsAppservice(baseUrl: string, asToken: string, userId: string, opts: FetchJsonOptions): Promise<string> {
  const url = `${baseUrl.replace(/\/+$/, '')}/_matrix/client/v3/account/whoami?user_id=${encodeURIComponent(userId)}`;
  const { status, json } = await fetchJson(url, { ...opts, headers: { ...opts.headers, authorization: `Bearer ${asToken}` } });
  if (status !== 200) {
    const { code, message } = errorOf(json);
    throw new ProbeError(`HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`, status, code);
  }
  const answered = (json as { user_id?: unknown } | null)?.user_id;
  if (typeof answered !== 'string') throw new ProbeError(`HTTP 200 without a user_id: ${JSON.stringify(json).slice(0, 120)}`, status);
  return answered;
}
