// Starts one real Synapse for the whole e2e run, with a pool of appservice registrations
// ("slots"). Each test file claims its own slot: its own namespace, bot and listener port,
// so a bridge stopped by one file never leaves Synapse backing off on a URL another file uses.
//
// Jest loads this file with Node's own loader (type stripping), not through ts-jest, so it
// imports siblings with their .ts names, and our application code from its sources through
// tools/register-ts.mjs (no build needed). Slot 0's registration is written by the real CLI
// (`-r`, src/main.ts), so Synapse starting at all proves it accepts what admins will generate.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { buildLlama } from '../harness/llama.ts';
import { buildSpeech } from '../harness/speech.ts';
import { buildSynapse, startSynapse } from '../harness/synapse.ts';
import { freePort } from '../support/freePort.ts';
import { STATE_ENV, type E2eState, type Slot } from './helpers/state.ts';

// One per bridge a test file starts (some start several); 37 files used up 40.
const SLOTS = 64;
const DOMAIN = 'localhost';
const ROOT = resolve(import.meta.dirname, '..', '..');

const REGISTER_TS = join(ROOT, 'tools/register-ts.mjs');

function slotConfig(slot: Omit<Slot, 'registrationFile'>): Record<string, unknown> {
  return {
    homeserver: { url: 'http://127.0.0.1:1', domain: DOMAIN },
    appservice: { bot_localpart: slot.botLocalpart, persona_prefix: slot.personaPrefix, port: slot.port },
    admins: [],
    llm: { base_url: 'http://127.0.0.1:1/v1', model: 'test-model' },
  };
}

export default async function globalSetup(): Promise<void> {
  // Our sources import siblings as './x.js'; the hooks map that to x.ts. Imported dynamically
  // so the hooks are in place before these modules are resolved.
  await import(REGISTER_TS);
  const { validateConfig } = await import('../../src/config/Config.ts');
  const { buildRegistration, writeRegistration } = await import('../../src/registration.ts');

  const runDir = mkdtempSync(join(tmpdir(), 'personas-e2e-'));
  // Both chroots at once (debootstrap waits on the network far more than on the CPU); the
  // llama.cpp one serves the test files that talk to a real model server (llama*.test.ts), and
  // gets Debian's speech tools on top (media.test.ts).
  await Promise.all([buildSynapse(), buildLlama().then(() => buildSpeech())]);
  const slots: Slot[] = [];
  for (let index = 0; index < SLOTS; index++) {
    const port = await freePort();
    const base = { index, port, botLocalpart: `personas_s${index}`, personaPrefix: `persona_s${index}_` };
    const slot: Slot = { ...base, registrationFile: join(runDir, `registration-s${index}.yaml`) };
    const url = `http://127.0.0.1:${port}`;
    if (index === 0) {
      const configFile = join(runDir, 'config-s0.yaml');
      writeFileSync(configFile, stringify(slotConfig(base)));
      execFileSync(process.execPath, ['--import', REGISTER_TS, join(ROOT, 'src/main.ts'), '-r', '-c', configFile, '-u', url, '-f', slot.registrationFile], {
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
  mkdirSync(join(runDir, 'logs'));
  const state: E2eState = { runDir, synapse, domain: DOMAIN, slots, llmApiKey: `sk-e2e-${randomBytes(16).toString('hex')}` };
  const statePath = join(runDir, 'state.json');
  writeFileSync(statePath, JSON.stringify(state, null, 2));
  // Test files run after globalSetup, in this process or in workers that inherit the environment.
  process.env[STATE_ENV] = statePath;
}
