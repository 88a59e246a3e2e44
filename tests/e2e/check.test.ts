// `node dist/main.js --check` (the built CLI, as an admin runs it) against the real Synapse:
// everything in order, a registration whose token Synapse does not know, and an LLM that is
// down. Reads one slot's registration without starting a bridge on it.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { FakeOpenAI } from '../fakes/FakeOpenAI.js';
import { builtBridgeConfig, builtFile, claimSlot, writeBridgeConfig } from './helpers/index.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

function check(configPath: string, registrationPath: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [builtFile('main.js'), '--check', '-c', configPath, '-f', registrationPath], (err, stdout, stderr) => {
      const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

describe('--check against a real Synapse', () => {
  let llm: FakeOpenAI;
  let dir: string;
  let configPath: string;
  let registrationPath: string;

  beforeAll(async () => {
    llm = await FakeOpenAI.start();
    // A slot of its own: its registration is loaded in Synapse, and no bridge runs on it.
    const slot = claimSlot();
    dir = mkdtempSync(join(tmpdir(), 'personas-check-'));
    registrationPath = slot.registrationFile;
    configPath = writeBridgeConfig(
      dir,
      builtBridgeConfig({ slot, databasePath: join(dir, 'personas.db'), personasDir: join(ROOT, 'personas'), llmBaseUrl: llm.baseUrl, llm: { model: 'fake-model' } }),
    );
  });
  afterAll(async () => {
    await llm?.stop();
  });

  test('all in order: every check passes, exit code 0', async () => {
    const { code, out } = await check(configPath, registrationPath);
    expect(out).not.toMatch(/^ {2}(FAIL|WARN) /m);
    expect(out).toMatch(/^ {2}PASS {2}homeserver +http:\/\/127\.0\.0\.1:\d+ answers/m);
    expect(out).toMatch(/^ {2}PASS {2}appservice token +accepted; acting as @personas_s\d+:localhost$/m);
    expect(out).toMatch(/^ {2}PASS {2}llm endpoint +http:\/\/127\.0\.0\.1:\d+\/v1 answers; model "fake-model" is available$/m);
    expect(out).toMatch(/^OK: 12 checks passed\.$/m);
    expect(code).toBe(0);
  });

  test('a registration with a token Synapse does not know is reported as such, exit code 1', async () => {
    const wrong = join(dir, 'wrong-token.yaml');
    const reg = parse(readFileSync(registrationPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(wrong, stringify({ ...reg, as_token: 'not-the-token-synapse-loaded' }));
    const { code, out } = await check(configPath, wrong);
    expect(out).toMatch(/^ {2}FAIL {2}appservice token +the homeserver rejected the registration's as_token \(HTTP 401 M_UNKNOWN_TOKEN: .*\)$/m);
    expect(out).toMatch(/-> the homeserver did not load this registration file: list it under app_service_config_files/);
    expect(out).toMatch(/^FAILED: 1 of 12 checks failed\.$/m);
    expect(code).toBe(1);
  });

  test('an LLM endpoint that is down is reported as unreachable, exit code 1', async () => {
    await llm.stop();
    try {
      const { code, out } = await check(configPath, registrationPath);
      expect(out).toMatch(/^ {2}FAIL {2}llm endpoint +cannot list models: http:\/\/127\.0\.0\.1:\d+\/v1\/models: connection refused \(nothing listening there\) \[ECONNREFUSED\]$/m);
      expect(out).toMatch(/^ {2}PASS {2}appservice token /m);
      expect(code).toBe(1);
    } finally {
      await llm.start();
    }
  });

  test('with encryption on: the registration keys, the store and device masquerading are checked against Synapse', async () => {
    const encrypted = join(dir, 'config-encrypted.yaml');
    const config = parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(encrypted, stringify({ ...config, encryption: { enabled: true, store_path: join(dir, 'crypto') } }));
    const { code, out } = await check(encrypted, registrationPath);
    expect(out).toMatch(/^ {2}PASS {2}encryption registration +asks for to-device messages \(MSC2409\) and device lists \/ key counts \(MSC3202\)$/m);
    expect(out).toMatch(/^ {2}PASS {2}crypto store +.*crypto will be created$/m);
    // Synapse refused the made-up device: it understands device masquerading.
    expect(out).toMatch(/^ {2}PASS {2}encryption devices +the homeserver lets the appservice act as its users' devices/m);
    expect(out).toMatch(/^ {2}WARN {2}encryption transactions +.*\n.*msc2409_to_device_messages_enabled: true, msc3202_transaction_extensions: true/m);
    expect(code).toBe(0);

    const old = join(dir, 'registration-without-msc3202.yaml');
    const reg = parse(readFileSync(registrationPath, 'utf8')) as Record<string, unknown>;
    delete reg['org.matrix.msc3202'];
    writeFileSync(old, stringify(reg));
    const without = await check(encrypted, old);
    expect(without.out).toMatch(/^ {2}FAIL {2}encryption registration +the registration lacks 'org\.matrix\.msc3202': true/m);
    expect(without.code).toBe(1);
  });
});
