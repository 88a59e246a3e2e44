// Starts one real Synapse for the whole e2e run, with a pool of appservice registrations
// ("slots"). Each test file claims its own slot: its own namespace, bot and listener port,
// so a bridge stopped by one file never leaves Synapse backing off on a URL another file uses.
//
// Jest loads this file with Node's own loader (type stripping), not through ts-jest, so it
// imports siblings with their .ts names and our application code from the build in dist/
// (which it refreshes first). Slot 0's registration is written by the real CLI (`-r`), so
// Synapse starting at all proves it accepts what admins will generate.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { buildSynapse, startSynapse } from '../harness/synapse.ts';
import { STATE_ENV, type E2eState, type Slot } from './helpers/state.ts';

const SLOTS = 24;
const DOMAIN = 'localhost';
const ROOT = resolve(import.meta.dirname, '..', '..');

type ConfigModule = typeof import('../../src/config/Config.js');
type RegistrationModule = typeof import('../../src/registration.js');
type FreePortModule = typeof import('../../src/net/freePort.js');

function slotConfig(slot: Omit<Slot, 'registrationFile'>): Record<string, unknown> {
  return {
    homeserver: { url: 'http://127.0.0.1:1', domain: DOMAIN },
    appservice: { bot_localpart: slot.botLocalpart, persona_prefix: slot.personaPrefix, port: slot.port },
    admins: [],
    llm: { base_url: 'http://127.0.0.1:1/v1', model: 'test-model' },
  };
}

export default async function globalSetup(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  const { validateConfig } = (await import(pathToFileURL(join(ROOT, 'dist/config/Config.js')).href)) as ConfigModule;
  const { buildRegistration, writeRegistration } = (await import(pathToFileURL(join(ROOT, 'dist/registration.js')).href)) as RegistrationModule;
  const { freePort } = (await import(pathToFileURL(join(ROOT, 'dist/net/freePort.js')).href)) as FreePortModule;

  const runDir = mkdtempSync(join(tmpdir(), 'personas-e2e-'));
  await buildSynapse();
  const slots: Slot[] = [];
  for (let index = 0; index < SLOTS; index++) {
    const port = await freePort();
    const base = { index, port, botLocalpart: `personas_s${index}`, personaPrefix: `persona_s${index}_` };
    const slot: Slot = { ...base, registrationFile: join(runDir, `registration-s${index}.yaml`) };
    const url = `http://127.0.0.1:${port}`;
    if (index === 0) {
      const configFile = join(runDir, 'config-s0.yaml');
      writeFileSync(configFile, stringify(slotConfig(base)));
      execFileSync(process.execPath, [join(ROOT, 'dist/main.js'), '-r', '-c', configFile, '-u', url, '-f', slot.registrationFile], {
        stdio: 'pipe',
      });
    } else {
      const registration = buildRegistration(validateConfig(slotConfig(base), {}), url);
      // Synapse requires a distinct id per appservice.
      registration.id = `personas-e2e-s${index}`;
      writeRegistration(slot.registrationFile, registration);
    }
    slots.push(slot);
  }
  const synapseDir = join(runDir, 'synapse');
  mkdirSync(synapseDir);
  const synapse = await startSynapse({
    dataDir: synapseDir,
    port: await freePort(),
    serverName: DOMAIN,
    registrationFiles: slots.map((s) => s.registrationFile),
  });
  mkdirSync(join(runDir, 'claims'));
  const state: E2eState = { runDir, synapse, domain: DOMAIN, slots };
  const statePath = join(runDir, 'state.json');
  writeFileSync(statePath, JSON.stringify(state, null, 2));
  // Test files run after globalSetup, in this process or in workers that inherit the environment.
  process.env[STATE_ENV] = statePath;
}
