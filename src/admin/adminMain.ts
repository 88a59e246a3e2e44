import { dirname, join } from 'node:path';
import { adminSocketPath, loadConfig } from '../config/Config.js';
import { ConfigErrors } from '../config/ConfigError.js';
import { EXIT_FAILED, runAdminCommand, runConsole } from './adminCli.js';
import { describeError } from '../util/describeError.js';

export interface AdminArgs {
  mode: 'console' | 'admin';
  configPath: string;
  json: boolean;
  yes: boolean;
  outDir?: string;
  /** The command, as the shell split it. */
  words: string[];
}

export const ADMIN_USAGE = [
  'Usage: node dist/main.js console -c CONFIG [-f REGISTRATION]',
  '       node dist/main.js admin -c CONFIG [-f REGISTRATION] [--json] [--yes] [--out DIR] <command...>',
].join('\n');

/**
 * `console` / `admin` arguments. Our flags may stand anywhere; every other word is the
 * command. `--yes` both confirms and stays in the command (where the bridge reads it).
 * The registration is accepted for symmetry with the bridge's own command line: the socket
 * is found through the config (beside the database, or admin.socket).
 */
export function parseAdminArgs(argv: string[]): AdminArgs | { error: string } {
  const mode = argv[0];
  if (mode !== 'console' && mode !== 'admin') return { error: ADMIN_USAGE };
  let configPath: string | undefined;
  let outDir: string | undefined;
  let json = false;
  let yes = false;
  const words: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (['-c', '--config', '-f', '--file', '--out'].includes(flag)) {
      const value = inline ?? argv[++i];
      if (!value) return { error: `${flag} needs a value.\n${ADMIN_USAGE}` };
      if (flag === '-c' || flag === '--config') configPath = value;
      if (flag === '--out') outDir = value;
    } else if (arg === '--json') {
      json = true;
    } else {
      if (arg === '--yes') yes = true;
      words.push(arg);
    }
  }
  if (!configPath) return { error: `-c CONFIG is required.\n${ADMIN_USAGE}` };
  if (mode === 'admin' && words.length === 0) return { error: `No command given.\n${ADMIN_USAGE}` };
  if (mode === 'console' && words.length > 0) return { error: `console takes no command; use admin for one command.\n${ADMIN_USAGE}` };
  return { mode, configPath, json, yes, words, ...(outDir ? { outDir } : {}) };
}

/** Runs `console` or `admin`; resolves with the exit code. */
export async function adminMain(argv: string[]): Promise<number> {
  const args = parseAdminArgs(argv);
  if ('error' in args) {
    process.stderr.write(`${args.error}\n`);
    return EXIT_FAILED;
  }
  let socket: string;
  let dataDir: string;
  try {
    const config = loadConfig(args.configPath);
    socket = adminSocketPath(config);
    dataDir = dirname(socket);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigErrors ? err.message : describeError(err)}\n`);
    return EXIT_FAILED;
  }
  if (args.mode === 'admin') {
    return runAdminCommand(socket, args.words, { json: args.json, yes: args.yes, ...(args.outDir ? { outDir: args.outDir } : {}) }, process);
  }
  return runConsole(socket, { input: process.stdin, output: process.stdout, historyFile: join(dataDir, '.console_history') });
}
