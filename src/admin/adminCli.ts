import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { AdminClient, type ReceivedFile } from './AdminClient.js';
import { completeLine, joinArgs } from './completion.js';
import { describeError } from '../util/describeError.js';

/** Exit codes of `admin`: scripts tell a refused confirmation from a failure. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_NEEDS_CONFIRMATION = 2;

interface Streams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * `admin <command…>`: runs one command on the running bridge and exits 0 when it succeeded,
 * 1 when it failed (or the bridge cannot be reached), 2 when it is destructive and `--yes`
 * was not given. `--json` prints one JSON object: {ok, data, output, confirm?, error?, files?}:
 * `data` is the command's result as data (null when it failed before giving any).
 */
export async function runAdminCommand(
  socketPath: string,
  words: string[],
  options: { json: boolean; yes: boolean; outDir?: string },
  { stdout, stderr }: Streams,
): Promise<number> {
  let client: AdminClient;
  try {
    client = await AdminClient.connect(socketPath);
  } catch (err) {
    if (options.json) stdout.write(`${JSON.stringify({ ok: false, data: null, output: [], error: describeError(err) })}\n`);
    else stderr.write(`${describeError(err)}\n`);
    return EXIT_FAILED;
  }
  try {
    const result = await client.run(joinArgs(words), {
      json: options.json,
      yes: options.yes,
      ...(options.json ? {} : { onOutput: (text: string) => stdout.write(`${text}\n`) }),
    });
    const saved = (result.files ?? []).map((f) => saveReceivedFile(f, options.outDir));
    if (options.json) {
      const { files: _files, data, ok, ...rest } = result;
      stdout.write(`${JSON.stringify({ ok, data: data ?? null, ...rest, ...(saved.length ? { files: saved } : {}) })}\n`);
    } else {
      for (const path of saved) stdout.write(`Wrote ${path}\n`);
      if (result.confirm) stderr.write(`${result.confirm}\nNothing was done: add --yes to go ahead.\n`);
      else if (result.error) stderr.write(`${result.error}\n`);
    }
    return result.confirm ? EXIT_NEEDS_CONFIRMATION : result.ok ? EXIT_OK : EXIT_FAILED;
  } catch (err) {
    stderr.write(`${describeError(err)}\n`);
    return EXIT_FAILED;
  } finally {
    client.close();
  }
}

/**
 * Writes a file the bridge handed back (an export) into `dir`, under its own base name only
 * (a name from the bridge never chooses where on disk it goes). Returns the path.
 */
export function saveReceivedFile(file: ReceivedFile, dir: string = process.cwd()): string {
  const path = resolve(dir, basename(file.name).replace(/^\.+/, '') || 'download');
  writeFileSync(path, file.data);
  return path;
}

const HISTORY_SIZE = 500;

const isTerminal = (stream: NodeJS.ReadableStream | NodeJS.WritableStream): boolean => (stream as { isTTY?: boolean }).isTTY === true;

function loadHistory(file: string | undefined): string[] {
  if (!file) return [];
  try {
    // readline wants the newest first.
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_SIZE).reverse();
  } catch {
    return [];
  }
}

/**
 * The interactive console: command history (kept in `historyFile` across sessions), tab
 * completion of command words and persona names (fetched from the bridge, refreshed after
 * every command), destructive commands asking y/N. `exit`, `quit` or Ctrl-D leave.
 */
export async function runConsole(
  socketPath: string,
  io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; historyFile?: string },
): Promise<number> {
  let client: AdminClient;
  try {
    client = await AdminClient.connect(socketPath);
  } catch (err) {
    io.output.write(`${describeError(err)}\n`);
    return EXIT_FAILED;
  }
  let names = await client.completions();
  // Piped in or out (a script, `console < commands.txt > out.txt`): plain lines, no prompt, no
  // banner and none of a terminal's cursor escapes.
  const interactive = isTerminal(io.input) && isTerminal(io.output);
  const rl = createInterface({
    input: io.input,
    output: io.output,
    terminal: interactive,
    history: loadHistory(io.historyFile),
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    completer: (line: string) => completeLine(line, names.commands, names.personas),
  });
  const ask = (question: string) => new Promise<string>((resolve) => rl.question(question, resolve));
  const prompt = () => {
    if (interactive) rl.prompt();
  };
  if (interactive) io.output.write('Personas admin console. Tab completes commands and persona names; "help" lists commands, "exit" leaves.\n');
  rl.setPrompt('personas> ');
  prompt();
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === 'exit' || line === 'quit') break;
    if (line) {
      if (interactive && io.historyFile) appendFileSync(io.historyFile, `${line}\n`, { mode: 0o600 });
      try {
        const print = (text: string) => io.output.write(`${text}\n`);
        const onFile = (file: ReceivedFile) => print(`Wrote ${saveReceivedFile(file)}`);
        let result = await client.run(line, { onOutput: print, onFile });
        // Piped lines are commands, not answers to a question: a script says --yes.
        if (result.confirm && !interactive) {
          print(`${result.confirm}\nNothing was done: add --yes to the command to go ahead.`);
        } else if (result.confirm && /^y(es)?$/i.test((await ask(`${result.confirm} [y/N] `)).trim())) {
          result = await client.run(line, { yes: true, onOutput: print, onFile });
        } else if (result.confirm) {
          print('Nothing was done.');
        }
        if (result.error) print(result.error);
        names = await client.completions();
      } catch (err) {
        io.output.write(`${describeError(err)}\n`);
        rl.close();
        return EXIT_FAILED;
      }
    }
    prompt();
  }
  rl.close();
  client.close();
  return EXIT_OK;
}
