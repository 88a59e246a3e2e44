// A real llama.cpp server for tests: thin wrappers around scripts/llama.sh, which builds a
// Debian chroot with llama-server and a tiny random-weight model (cached outside the repo)
// and runs instances from it. Node built-ins and erasable TypeScript only (see synapse.ts).
// The script needs root: it uses debootstrap, chroot and unshare.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript } from './runScript.ts';

export const LLAMA_SCRIPT: string =
  process.env.PERSONAS_LLAMA_SCRIPT ?? fileURLToPath(new URL('../../scripts/llama.sh', import.meta.url));

export interface LlamaServer {
  /** OpenAI-compatible base URL, e.g. http://127.0.0.1:PORT/v1 */
  baseUrl: string;
  /** The server's root (for /props, /tokenize, /health). */
  rootUrl: string;
  port: number;
  /** The model id the server reports (its -a alias). */
  model: string;
  dataDir: string;
  /** The server's own log (llama-server writes everything there). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export interface LlamaOptions {
  dataDir: string;
  port: number;
  /** Default: the tiny generated model. */
  modelFile?: string;
  /** Model id, default "tiny". */
  alias?: string;
  /** Context size (-c), default 512. */
  context?: number;
  /** Parallel slots (-np), default 1. */
  parallel?: number;
  /** False: started with --no-jinja, so it refuses requests with tools (default true). */
  jinja?: boolean;
}

/** Builds the cached chroot and the tiny model once; quick when they are already there. */
export async function buildLlama(): Promise<void> {
  await runScript(LLAMA_SCRIPT, ['build'], true);
}

/** The tiny generated model's path on the host (building it if needed). */
export async function tinyModelPath(): Promise<string> {
  return (await runScript(LLAMA_SCRIPT, ['model'])).stdout.trim();
}

/** Starts llama-server on 127.0.0.1:port; resolves once the model is loaded. */
export async function startLlama(opts: LlamaOptions): Promise<LlamaServer> {
  const dataDir = resolve(opts.dataDir);
  const alias = opts.alias ?? 'tiny';
  const args = ['start', '--data', dataDir, '--port', String(opts.port), '--alias', alias];
  if (opts.modelFile !== undefined) args.push('--model', opts.modelFile);
  if (opts.context !== undefined) args.push('--ctx', String(opts.context));
  if (opts.parallel !== undefined) args.push('--parallel', String(opts.parallel));
  if (opts.jinja === false) args.push('--no-jinja');
  await runScript(LLAMA_SCRIPT, args);
  const rootUrl = `http://127.0.0.1:${opts.port}`;
  return {
    baseUrl: `${rootUrl}/v1`,
    rootUrl,
    port: opts.port,
    model: alias,
    dataDir,
    log: () => readFile(join(dataDir, 'llama-server.log'), 'utf8'),
    stop: async () => {
      await runScript(LLAMA_SCRIPT, ['stop', '--data', dataDir]);
    },
  };
}
