// A real Synapse for end-to-end tests: thin wrappers around scripts/synapse.sh (which builds
// a Debian chroot with Synapse, cached outside the repo, and runs instances from it), plus
// user registration through Synapse's shared-secret admin API.
//
// Node built-ins only and erasable TypeScript only, so the module also runs unbundled under
// `node file.ts` (Node >= 23.6 strips the types) as well as under ts-jest.
//
// The script is found relative to this module (import.meta.url), not to process.cwd(), so
// callers may run from any directory. PERSONAS_SYNAPSE_SCRIPT overrides the path.
// The script needs root: it uses debootstrap, chroot and unshare.

import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript } from './runScript.ts';

export interface SynapseInstance {
  baseUrl: string;
  port: number;
  dataDir: string;
  serverName: string;
  sharedSecret: string;
}

export interface StartOptions {
  dataDir: string;
  port: number;
  /** Defaults to "localhost". Fixed for the life of the data dir (it is baked into its DB). */
  serverName?: string;
  /** Appservice registration files (YAML). Synapse reads them only at start. */
  registrationFiles: string[];
  /** YAML appended to the generated homeserver.yaml; its keys override the defaults. */
  extraConfigFile?: string;
  /** Synapse loggers to log at DEBUG (the benchmark: synapse.http.client, when each appservice transaction is pushed). */
  debugLoggers?: string[];
}

export interface RegisteredUser {
  userId: string;
  accessToken: string;
  deviceId: string;
}

export const SYNAPSE_SCRIPT: string =
  process.env.PERSONAS_SYNAPSE_SCRIPT ?? fileURLToPath(new URL('../../scripts/synapse.sh', import.meta.url));

function runSynapseScript(args: string[], echoStderr = false) {
  return runScript(SYNAPSE_SCRIPT, args, echoStderr);
}

/** Builds the cached chroot once; quick when it is already there. */
export async function buildSynapse(): Promise<void> {
  await runSynapseScript(['build'], true);
}

/**
 * Starts (or reuses, when one is already running for dataDir) a Synapse listening on
 * 127.0.0.1:port, and resolves once its client API answers.
 */
export async function startSynapse(opts: StartOptions): Promise<SynapseInstance> {
  // Absolute, so the instance can be stopped from any working directory.
  const dataDir = resolve(opts.dataDir);
  const args = ['start', '--data', dataDir, '--port', String(opts.port)];
  if (opts.serverName !== undefined) args.push('--server-name', opts.serverName);
  for (const file of opts.registrationFiles) args.push('--registration', file);
  if (opts.extraConfigFile !== undefined) args.push('--extra-config', opts.extraConfigFile);
  for (const name of opts.debugLoggers ?? []) args.push('--debug-logger', name);
  // Not echoed: a failure's log tail is in the thrown error already. Start builds the chroot
  // when missing, silently, so call buildSynapse() first to see a first build's progress.
  await runSynapseScript(args);
  // Read back what the running instance really uses: on reuse it may differ from opts.
  const [sharedSecret, serverName, port] = await Promise.all(
    ['shared_secret', 'server_name', 'port'].map(async (f) => (await readFile(join(dataDir, f), 'utf8')).trim()),
  );
  const portNumber = Number(port);
  return {
    baseUrl: `http://127.0.0.1:${portNumber}`,
    port: portNumber,
    dataDir,
    serverName,
    sharedSecret,
  };
}

/** Stops the instance of dataDir; a no-op when it is not running. */
export async function stopSynapse(inst: Pick<SynapseInstance, 'dataDir'>): Promise<void> {
  await runSynapseScript(['stop', '--data', inst.dataDir]);
}

interface MatrixError {
  errcode?: string;
  error?: string;
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function asUser(json: Record<string, unknown>, what: string): RegisteredUser {
  const { user_id: userId, access_token: accessToken, device_id: deviceId } = json;
  if (typeof userId !== 'string' || typeof accessToken !== 'string' || typeof deviceId !== 'string') {
    throw new Error(`${what}: unexpected response ${JSON.stringify(json)}`);
  }
  return { userId, accessToken, deviceId };
}

/** Password login; gives a fresh device and access token each call. */
export async function loginUser(
  inst: Pick<SynapseInstance, 'baseUrl'>,
  localpart: string,
  password: string,
): Promise<RegisteredUser> {
  const { status, json } = await postJson(`${inst.baseUrl}/_matrix/client/v3/login`, {
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: localpart },
    password,
  });
  if (status !== 200) throw new Error(`login of ${localpart} failed: HTTP ${status} ${JSON.stringify(json)}`);
  return asUser(json, `login of ${localpart}`);
}

/**
 * Creates a user through the shared-secret admin API (which works with registration closed).
 * If the user already exists, logs in with the password instead, so reruns against a kept
 * data dir still get a token.
 */
export async function registerUser(
  inst: SynapseInstance,
  localpart: string,
  password: string,
  admin = false,
): Promise<RegisteredUser> {
  const endpoint = `${inst.baseUrl}/_synapse/admin/v1/register`;
  const nonceRes = await fetch(endpoint);
  const { nonce } = (await nonceRes.json()) as { nonce?: unknown };
  if (typeof nonce !== 'string') throw new Error(`no registration nonce from ${endpoint} (HTTP ${nonceRes.status})`);
  // The MAC Synapse checks: HMAC-SHA1 over NUL-separated nonce, user, password, admin flag.
  const mac = createHmac('sha1', inst.sharedSecret)
    .update([nonce, localpart, password, admin ? 'admin' : 'notadmin'].join('\0'), 'utf8')
    .digest('hex');
  const { status, json } = await postJson(endpoint, { nonce, username: localpart, password, admin, mac });
  if (status === 200) return asUser(json, `registration of ${localpart}`);
  if ((json as MatrixError).errcode === 'M_USER_IN_USE') return loginUser(inst, localpart, password);
  throw new Error(`registration of ${localpart} failed: HTTP ${status} ${JSON.stringify(json)}`);
}
