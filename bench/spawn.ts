import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { botUserId } from '../src/config/Config.js';
import { BridgeProcess } from './BridgeProcess.js';
import { MatrixUser } from './MatrixUser.js';
import { bridgeSetup, freePort } from './setup.js';
import { summarize, type Summary } from './stats.js';

/** The part of tests/harness/synapse.ts the spawn benchmark uses. */
export interface SynapseHarness {
  buildSynapse(): Promise<void>;
  startSynapse(opts: { dataDir: string; port: number; serverName?: string; registrationFiles: string[]; debugLoggers?: string[] }): Promise<SynapseLike>;
  stopSynapse(inst: { dataDir: string }): Promise<void>;
  registerUser(inst: SynapseLike, localpart: string, password: string, admin?: boolean): Promise<{ userId: string; accessToken: string }>;
}

export interface SynapseLike {
  baseUrl: string;
  port: number;
  dataDir: string;
  serverName: string;
  sharedSecret: string;
}

/**
 * A real Synapse in `dir`/synapse that loads the bridge's registration, for the stages that
 * measure against one (spawn, live). Returns it with its start time in seconds.
 */
export async function startBenchSynapse(
  harness: SynapseHarness,
  dir: string,
  serverName: string,
  registration: unknown,
): Promise<{ synapse: SynapseLike; synapseStartSeconds: number }> {
  const registrationFile = join(dir, 'synapse-registration.yaml');
  writeFileSync(registrationFile, stringify(registration), { mode: 0o600 });
  await harness.buildSynapse();
  const started = performance.now();
  const dataDir = join(dir, 'synapse');
  mkdirSync(dataDir, { recursive: true });
  // synapse.http.client at DEBUG: when Synapse pushed each transaction to the bridge (bench/accessLog.ts).
  const synapse = await harness.startSynapse({ dataDir, port: await freePort(), serverName, registrationFiles: [registrationFile], debugLoggers: ['synapse.http.client'] });
  return { synapse, synapseStartSeconds: (performance.now() - started) / 1000 };
}

export interface SpawnResult {
  samples: number;
  /** Command sent (request leaves) -> the bot's answer arrives through /sync. */
  observed: Summary;
  /** The answer's origin_server_ts minus the command's: the part spent in the bridge and Synapse. */
  serverTimestamps: Summary;
  synapseStartSeconds: number;
}

/**
 * `!persona spawn` end to end against a real Synapse: an admin in a DM with the bot sends
 * the command, the bridge registers the user and sets its profile on Synapse, the bot
 * answers. Timed from the send to the answer reaching the admin's /sync.
 */
export async function runSpawn(
  harness: SynapseHarness,
  opts: { dir: string; mainJs: string; llmBaseUrl: string; samples: number; warmup: number },
): Promise<SpawnResult> {
  mkdirSync(opts.dir, { recursive: true });
  const domain = 'localhost';
  const admin = `@benchadmin_${randomBytes(3).toString('hex')}:${domain}`;
  const setup = await bridgeSetup({
    dir: opts.dir,
    homeserverUrl: 'http://127.0.0.1:1', // replaced once Synapse has its port
    domain,
    llmBaseUrl: opts.llmBaseUrl,
    admins: [admin],
    botLocalpart: 'personas_bench',
    personaPrefix: 'persona_bench_',
  });
  const { synapse, synapseStartSeconds } = await startBenchSynapse(harness, opts.dir, domain, setup.registration);
  let bridge: BridgeProcess | null = null;
  let user: MatrixUser | null = null;
  try {
    (setup.raw.homeserver as { url: string }).url = synapse.baseUrl;
    bridge = await BridgeProcess.start({ mainJs: opts.mainJs, dir: opts.dir, config: setup.raw, registration: setup.registration });
    const account = await harness.registerUser(synapse, admin.slice(1).split(':')[0]!, `pw-${randomBytes(6).toString('hex')}`, true);
    user = new MatrixUser(synapse.baseUrl, account.userId, account.accessToken);
    await user.startSyncing();
    const bot = botUserId(setup.config);
    const roomId = await user.createRoom([bot]);
    await user.waitForEvent(roomId, (e) => e.type === 'm.room.member' && e.state_key === bot && e.content.membership === 'join');

    const observed: number[] = [];
    const server: number[] = [];
    const tag = randomBytes(2).toString('hex');
    for (let i = 0; i < opts.warmup + opts.samples; i++) {
      const name = `Spawn${tag}${i}`;
      const sentAt = performance.now();
      const commandId = await user.sendText(roomId, `!persona spawn ${name} You are a benchmark persona. Answer briefly.`);
      const answer = await user.waitForEvent(
        roomId,
        (e) => e.sender === bot && e.type === 'm.room.message' && String(e.content.body ?? '').includes(name),
        60_000,
      );
      if (!String(answer.content.body).startsWith(`Spawned ${name}`)) throw new Error(`spawn of ${name} failed: ${String(answer.content.body)}`);
      const command = await user.waitForEvent(roomId, (e) => e.event_id === commandId);
      if (i < opts.warmup) continue;
      observed.push(answer.seenAt - sentAt);
      server.push(answer.origin_server_ts - command.origin_server_ts);
    }
    return { samples: opts.samples, observed: summarize(observed), serverTimestamps: summarize(server), synapseStartSeconds };
  } finally {
    await user?.stop();
    await bridge?.stop();
    await harness.stopSynapse(synapse);
  }
}
