// Helpers for scripts/local-stack.sh that are easier in Node than in bash: editing YAML
// without losing comments, and naming the seed personas exactly as the bridge will.
//
//   node --import ./tools/register-ts.mjs tools/localstack/cli.ts config --out FILE --sample FILE --hs-url URL --domain D --as-port N
//        --admin MXID --db PATH --personas DIR [--llm-url URL] [--llm-model NAME] [--llm-notice TEXT]
//   node --import ./tools/register-ts.mjs tools/localstack/cli.ts registration-url --file REG --url URL   (prints updated|unchanged)
//   node --import ./tools/register-ts.mjs tools/localstack/cli.ts summary --config FILE   (lines "bot MXID", "llm URL (model M)", "persona MXID"...)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { botUserId, loadConfig, parseConfigText } from '../../src/config/Config.js';
import { loadPersonaFiles } from '../../src/personas/personaFiles.js';
import { personaUserId } from '../../src/personas/personaName.js';
import { patchRegistrationUrl, renderLocalConfig } from './localConfig.js';

function required(values: Record<string, string | undefined>, name: string): string {
  const value = values[name];
  if (!value) throw new Error(`--${name} is required`);
  return value;
}

function writeConfig(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: Object.fromEntries(
      ['out', 'sample', 'hs-url', 'domain', 'as-port', 'admin', 'db', 'personas', 'llm-url', 'llm-model', 'llm-notice'].map((k) => [k, { type: 'string' as const }]),
    ),
  });
  const v = values as Record<string, string | undefined>;
  const out = required(v, 'out');
  const port = Number(required(v, 'as-port'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--as-port must be a port number, got ${v['as-port']}`);
  const existing = existsSync(out) ? readFileSync(out, 'utf8') : null;
  const text = renderLocalConfig(existing, readFileSync(required(v, 'sample'), 'utf8'), {
    homeserverUrl: required(v, 'hs-url'),
    domain: required(v, 'domain'),
    appservicePort: port,
    adminUserId: required(v, 'admin'),
    databasePath: resolve(required(v, 'db')),
    personasDirectory: resolve(required(v, 'personas')),
    ...(v['llm-url'] ? { llmBaseUrl: v['llm-url'] } : {}),
    ...(v['llm-model'] ? { llmModel: v['llm-model'] } : {}),
    ...(v['llm-notice'] !== undefined ? { llmNotice: v['llm-notice'] } : {}),
  });
  // Validated before it is written: a broken edit is reported with its key path, not at start.
  parseConfigText(text, out);
  writeFileSync(out, text);
}

function registrationUrl(args: string[]): void {
  const { values } = parseArgs({ args, options: { file: { type: 'string' }, url: { type: 'string' } } });
  const file = required(values, 'file');
  const patched = patchRegistrationUrl(readFileSync(file, 'utf8'), required(values, 'url'));
  if (patched !== null) writeFileSync(file, patched, { mode: 0o600 });
  process.stdout.write(patched === null ? 'unchanged\n' : 'updated\n');
}

/** What the script prints for the newcomer: whom to talk to and which LLM answers. */
function summary(args: string[]): void {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
  const config = loadConfig(required(values, 'config'));
  const lines = [`bot ${botUserId(config)}`, `llm ${config.llm.base_url} (model ${config.llm.model})`];
  const { files } = loadPersonaFiles(resolve(config.personas.directory));
  for (const file of files) lines.push(`persona ${personaUserId(file.definition.name, config)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

const commands: Record<string, (args: string[]) => void> = { config: writeConfig, 'registration-url': registrationUrl, summary };
const [command, ...rest] = process.argv.slice(2);
const run = command ? commands[command] : undefined;
if (!run) {
  process.stderr.write(`usage: node --import ./tools/register-ts.mjs tools/localstack/cli.ts ${Object.keys(commands).join('|')} [options]\n`);
  process.exit(2);
}
try {
  run(rest);
} catch (err) {
  process.stderr.write(`local-stack: ${(err as Error).message}\n`);
  process.exit(1);
}
