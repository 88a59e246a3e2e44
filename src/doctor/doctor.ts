import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig, type BridgeConfig } from '../config/Config.js';
import { ConfigErrors } from '../config/ConfigError.js';
import { fail, pass, type CheckResult } from '../probes/CheckResult.js';
import { formatResults } from './formatResults.js';
import { checkDatabase, checkPersonaFiles } from './localChecks.js';
import { checkCryptoStore, checkEncryptionHomeserver, checkEncryptionRegistration } from './encryptionChecks.js';
import { checkRegistration } from './registrationChecks.js';
import { checkAppserviceToken, checkHomeserver, checkLlmBackends } from './serviceChecks.js';
import { checkToolServers } from './toolChecks.js';
import { describeError } from '../util/describeError.js';

/** Where the Cli looks for the registration when -f is not given. */
export const DEFAULT_REGISTRATION_PATH = 'registration/personas-registration.yaml';

export const CHECK_USAGE = 'usage: node dist/main.js --check -c CONFIG [-f REGISTRATION]';

export interface DoctorArgs {
  configPath: string;
  registrationPath: string;
}

/** -c/--config and -f/--file, in the spellings the bridge's Cli accepts (`-c x`, `--config x`, `--config=x`). */
export function parseDoctorArgs(argv: string[]): DoctorArgs | { error: string } {
  let configPath: string | undefined;
  let registrationPath = DEFAULT_REGISTRATION_PATH;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (!['-c', '--config', '-f', '--file'].includes(flag)) continue;
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') return { error: `${flag} needs a file name` };
    if (flag === '-c' || flag === '--config') configPath = value;
    else registrationPath = value;
  }
  if (!configPath) return { error: 'the config file (-c) is required' };
  return { configPath, registrationPath };
}

export interface DoctorOptions {
  /** Per network check. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
}

/**
 * Everything an admin would check by hand before (or after) starting the bridge: the config,
 * the registration against it, the database, the seed personas, the homeserver and its
 * acceptance of our token, the LLM endpoint, and with encryption on what it needs. Never
 * changes anything.
 */
export async function runChecks(args: DoctorArgs, opts: DoctorOptions = {}): Promise<CheckResult[]> {
  const net = { timeoutMs: opts.timeoutMs ?? 5000, ...(opts.fetch ? { fetch: opts.fetch } : {}) };
  let config: BridgeConfig;
  try {
    config = loadConfig(args.configPath, opts.env ?? process.env);
  } catch (err) {
    const detail = err instanceof ConfigErrors ? err.errors.map((e) => `${e.configPath}: ${e.problem}`).join('; ') : describeError(err);
    return [fail('config', `${resolve(args.configPath)}: ${detail}`, 'see config.sample.yaml for every key')];
  }
  const results: CheckResult[] = [pass('config', `${resolve(args.configPath)} is valid`)];

  let registration: unknown;
  try {
    registration = parseYaml(readFileSync(args.registrationPath, 'utf8'));
    results.push(pass('registration file', resolve(args.registrationPath)));
    results.push(...checkRegistration(config, registration));
  } catch (err) {
    registration = null;
    results.push(
      fail('registration file', `cannot read ${resolve(args.registrationPath)}: ${describeError(err)}`, 'generate one with `node dist/main.js -r -c CONFIG -u URL -f REG`'),
    );
  }
  results.push(checkDatabase(config), checkPersonaFiles(config));
  if (config.encryption.enabled) results.push(checkEncryptionRegistration(registration), checkCryptoStore(config));

  const [homeserver, llm, tools] = await Promise.all([checkHomeserver(config, net), checkLlmBackends(config, net), checkToolServers(config)]);
  results.push(homeserver);
  const asToken = (registration as { as_token?: unknown } | null)?.as_token;
  // Without a homeserver or a token there is nothing to ask; the failures above say why.
  if (homeserver.status === 'pass' && typeof asToken === 'string' && asToken) {
    const token = await checkAppserviceToken(config, asToken, net);
    results.push(token);
    if (config.encryption.enabled && token.status === 'pass') results.push(...(await checkEncryptionHomeserver(config, asToken, net)));
  }
  results.push(...llm, ...tools);
  return results;
}

/** `--check`: prints the list and resolves with the exit code (0 when nothing failed). */
export async function runDoctor(
  argv: string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
  opts: DoctorOptions = {},
): Promise<number> {
  const args = parseDoctorArgs(argv);
  if ('error' in args) {
    write(`${args.error}\n${CHECK_USAGE}\n`);
    return 2;
  }
  write(`Checking ${args.configPath} with registration ${args.registrationPath}\n`);
  const results = await runChecks(args, opts);
  write(formatResults(results));
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
