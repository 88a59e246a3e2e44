// Starts the real bridge (PersonaBridge, in this process) on one of the registration slots
// globalSetup loaded into Synapse, with a fresh database and an admin user of its own.
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppServiceRegistration } from 'matrix-appservice-bridge';
import { parse as parseYaml } from 'yaml';
import { validateConfig, type BridgeConfig } from '../../../src/config/Config.js';
import { compose } from '../../../src/app/compose.js';
import type { PersonaBridge } from '../../../src/app/PersonaBridge.js';
import { readState, type Slot } from './state.js';
import { newUser, uniqueLocalpart, type TestUser } from './user.js';

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

export interface TestBridgeOptions {
  /** Merged over the slot's config (homeserver, appservice, admins are set for you). */
  config?: DeepPartial<BridgeConfig>;
  /** Folder of seed persona YAML files; an empty folder by default. */
  personasDir?: string;
  /** OpenAI-compatible base URL (e.g. a FakeOpenAI's baseUrl); default: nothing listening. */
  llmBaseUrl?: string;
}

export interface TestBridge {
  app: PersonaBridge;
  config: BridgeConfig;
  slot: Slot;
  botUserId: string;
  /** An admin (listed in config.admins) with a syncing client. */
  admin: TestUser;
  registration: AppServiceRegistration;
  /** The bridge's own listener, e.g. to PUT transactions as Synapse would. */
  appserviceUrl: string;
  /** Formats a persona MXID for this slot. */
  personaUserId(name: string): string;
  /** Stops the bridge and starts a new one on the same slot and database (a process restart). */
  restart(): Promise<void>;
  /** Stops the bridge and the admin's client. */
  stop(): Promise<void>;
}

function deepMerge<T>(base: T, over: unknown): T {
  if (typeof over !== 'object' || over === null || Array.isArray(over)) return (over ?? base) as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = v === undefined ? out[k] : deepMerge(out[k], v);
  return out as T;
}

/** Claims a registration slot for this test file (e.g. to run the built CLI on it). */
export function claimSlot(): Slot {
  const state = readState();
  for (const slot of state.slots) {
    try {
      mkdirSync(join(state.runDir, 'claims', String(slot.index)));
      return slot;
    } catch {
      // taken by an earlier test file
    }
  }
  throw new Error(`all ${state.slots.length} e2e registration slots are used: raise SLOTS in tests/e2e/globalSetup.ts`);
}

export async function startTestBridge(opts: TestBridgeOptions = {}): Promise<TestBridge> {
  const state = readState();
  const slot = claimSlot();
  const slotDir = join(state.runDir, `bridge-s${slot.index}`);
  mkdirSync(slotDir, { recursive: true });
  const admin = await newUser({ localpart: uniqueLocalpart(`admin_s${slot.index}`) });
  const raw = deepMerge(
    {
      homeserver: { url: state.synapse.baseUrl, domain: state.domain },
      appservice: { bind: '127.0.0.1', port: slot.port, bot_localpart: slot.botLocalpart, persona_prefix: slot.personaPrefix },
      admins: [admin.userId],
      database: { path: join(slotDir, 'personas.db') },
      encryption: { store_path: join(slotDir, 'crypto') },
      llm: { base_url: opts.llmBaseUrl ?? 'http://127.0.0.1:9/v1', api_key: state.llmApiKey, model: 'test-model', timeout_seconds: 5, max_retries: 0 },
      personas: { directory: opts.personasDir ?? mkdtempSync(join(slotDir, 'personas-')) },
      logging: { level: process.env.PERSONAS_LOG_LEVEL ?? 'warn' },
      // Tests compare answers exactly; people.test.ts turns the first-contact note on.
      disclosure: 'off',
    },
    opts.config ?? {},
  );
  const config = validateConfig(raw, {});
  const registration = AppServiceRegistration.fromObject(parseYaml(readFileSync(slot.registrationFile, 'utf8')));
  let app = compose({ config, registration });
  await app.start();
  const tb: TestBridge = {
    get app() {
      return app;
    },
    config,
    slot,
    botUserId: `@${slot.botLocalpart}:${state.domain}`,
    admin,
    registration,
    appserviceUrl: `http://127.0.0.1:${slot.port}`,
    personaUserId: (name) => `@${slot.personaPrefix}${name.toLowerCase()}:${state.domain}`,
    async restart() {
      await app.stop();
      app = compose({ config, registration });
      await app.start();
    },
    async stop() {
      admin.stop();
      await app.stop();
    },
  };
  return tb;
}
