/**
 * LOCAL STACK ONLY — a small OpenAI-compatible speech server around Debian's own tools, for
 * trying voice messages with no cloud account and no model download:
 * - `POST /v1/audio/speech` (JSON `input`, `voice`, `response_format` `opus` (default) or
 *   `wav`): espeak-ng speaks the text (`voice` is an espeak-ng voice: `en-us`, `de`, `en+f3`...;
 *   OpenAI's names such as `alloy` map to English variants), opusenc makes it Ogg/Opus.
 * - `POST /v1/audio/transcriptions` (multipart `file`, `model`; Ogg/Opus or 16 kHz mono WAV):
 *   opusdec resamples to 16 kHz raw PCM (mono, as voice messages are) and pocketsphinx (CMU Sphinx, US English model) transcribes.
 *   Expect robotic speech and rough transcripts: for real use point speech.transcription at
 *   whisper.cpp's whisper-server, speaches/faster-whisper or OpenAI, and speech.synthesis at
 *   Kokoro-FastAPI, LocalAI, speaches or OpenAI (docs/vision-and-speech.md).
 *
 * The tools run through `run` (scripts/speech.sh's chroot by default, or straight from PATH on
 * a Debian host that has espeak-ng, opus-tools and pocketsphinx installed). `requests` logs what
 * arrived, for tests.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

/** Runs a shell script with arguments inside the tools' environment, stdin to stdout. */
export type ToolRunner = (script: string, args: string[], input: Buffer) => Promise<Buffer>;

export interface SpeechRequestLog {
  path: string;
  model: string;
  /** Synthesis: the text and voice; transcription: the file's name, type and size, and the transcript. */
  input?: string;
  voice?: string;
  file?: { name: string; type: string; size: number };
  transcript?: string;
}

/** OpenAI's voice names, as espeak-ng voices (English, with its variants). */
const OPENAI_VOICES: Record<string, string> = { alloy: 'en-us', echo: 'en-us+m3', fable: 'en-gb', onyx: 'en-us+m7', nova: 'en-us+f3', shimmer: 'en-us+f4' };
const ESPEAK_VOICE = /^[a-z]{2,3}(-[a-z0-9]{1,8})*(\+[a-z0-9]{1,12})?$/i;
const MAX_TEXT = 10_000;
const MAX_UPLOAD = 25 * 1024 * 1024;

/** A runner for scripts/speech.sh's chroot (root needed), or for tools on PATH. */
export function chrootRunner(speechScript: string): ToolRunner {
  return (script, args, input) => run('bash', [speechScript, 'run', 'sh', '-c', script, 'speech', ...args], input);
}
export const pathRunner: ToolRunner = (script, args, input) => run('sh', ['-c', script, 'speech', ...args], input);

function run(command: string, args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`exit ${code}: ${Buffer.concat(err).toString().trim().slice(-300)}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

export class SpeechAdapter {
  readonly requests: SpeechRequestLog[] = [];
  private server: Server | null = null;
  private port = 0;

  constructor(private readonly runner: ToolRunner) {}

  static async start(runner: ToolRunner, port = 0): Promise<SpeechAdapter> {
    const adapter = new SpeechAdapter(runner);
    adapter.port = port;
    await adapter.listen();
    return adapter;
  }

  /** `http://127.0.0.1:PORT/v1`, for speech.transcription / speech.synthesis base_url. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Speech as Ogg/Opus (or WAV). */
  synthesize(text: string, voice: string, format: 'opus' | 'wav' = 'opus'): Promise<Buffer> {
    const espeak = 'espeak-ng -v "$1" --stdin --stdout';
    return this.runner(format === 'opus' ? `${espeak} | opusenc --quiet - -` : espeak, [voice], Buffer.from(text));
  }

  /** What pocketsphinx hears in an Ogg/Opus or 16 kHz mono WAV file. */
  async transcribe(audio: Buffer): Promise<string> {
    const isOgg = audio.subarray(0, 4).toString('latin1') === 'OggS';
    const script = isOgg ? 'opusdec --quiet --rate 16000 - - | pocketsphinx single -' : 'pocketsphinx single -';
    const out = (await this.runner(script, [], audio)).toString();
    // One JSON object per utterance; the transcript is their text joined.
    return out
      .split('\n')
      .filter((l) => l.trim().startsWith('{'))
      .map((l) => String((JSON.parse(l) as { t?: unknown }).t ?? ''))
      .join(' ')
      .trim();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://adapter').pathname;
    try {
      if (req.method === 'GET' && path === '/v1/models') return json(res, 200, { object: 'list', data: [{ id: 'espeak-ng', object: 'model' }, { id: 'pocketsphinx', object: 'model' }] });
      if (req.method === 'POST' && path === '/v1/audio/speech') return await this.speech(req, res);
      if (req.method === 'POST' && path === '/v1/audio/transcriptions') return await this.transcription(req, res);
      json(res, 404, error(`no route for ${req.method} ${path}`));
    } catch (err) {
      if (!res.headersSent) json(res, 500, error((err as Error).message));
      else res.destroy();
    }
  }

  private async speech(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: { model?: unknown; input?: unknown; voice?: unknown; response_format?: unknown };
    try {
      body = JSON.parse((await readAll(req, MAX_TEXT * 4)).toString('utf8')) as typeof body;
    } catch {
      return json(res, 400, error('the body is not JSON'));
    }
    const input = typeof body.input === 'string' ? body.input : '';
    const format = body.response_format ?? 'opus';
    const voice = typeof body.voice === 'string' ? (OPENAI_VOICES[body.voice] ?? body.voice) : 'en-us';
    if (!input.trim() || input.length > MAX_TEXT) return json(res, 400, error(`input must be 1 to ${MAX_TEXT} characters`));
    if (!ESPEAK_VOICE.test(voice)) return json(res, 400, error(`unknown voice '${String(body.voice)}' (espeak-ng voices: en-us, en-gb, de, fr, en-us+f3...)`));
    if (format !== 'opus' && format !== 'wav') return json(res, 400, error('response_format must be opus or wav'));
    this.requests.push({ path: '/v1/audio/speech', model: String(body.model ?? ''), input, voice });
    let audio: Buffer;
    try {
      audio = await this.synthesize(input, voice, format);
    } catch (err) {
      return json(res, 400, error(`espeak-ng could not speak it: ${(err as Error).message}`));
    }
    res.writeHead(200, { 'content-type': format === 'opus' ? 'audio/ogg' : 'audio/wav', 'content-length': audio.length });
    res.end(audio);
  }

  private async transcription(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = new Request('http://adapter/', {
      method: 'POST',
      headers: req.headers as Record<string, string>,
      body: Readable.toWeb(req) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    let form: FormData;
    try {
      form = await request.formData();
    } catch {
      return json(res, 400, error('expected multipart/form-data with a file'));
    }
    const file = form.get('file');
    if (!(file instanceof Blob)) return json(res, 400, error('the file field is missing'));
    if (file.size > MAX_UPLOAD) return json(res, 413, error('the file is too large'));
    const entry: SpeechRequestLog = {
      path: '/v1/audio/transcriptions',
      model: String(form.get('model') ?? ''),
      file: { name: (file as File).name ?? 'file', type: file.type, size: file.size },
    };
    this.requests.push(entry);
    let text: string;
    try {
      text = await this.transcribe(Buffer.from(await file.arrayBuffer()));
    } catch (err) {
      return json(res, 400, error(`could not transcribe it (Ogg/Opus or 16 kHz mono WAV): ${(err as Error).message}`));
    }
    entry.transcript = text;
    json(res, 200, { text });
  }
}

function readAll(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function error(message: string): Record<string, unknown> {
  return { error: { message, type: 'invalid_request_error' } };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
