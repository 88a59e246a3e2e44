import { safeDownload } from '../net/safeFetch.js';
import type { MessageSearch } from '../memory/MessageSearch.js';
import { MAX_NOTE_LENGTH, MAX_NOTES_PER_ROOM, type NoteStore } from '../memory/NoteStore.js';
import { errorOutput, textOutput, type ToolCallContext, type ToolOutput, type ToolServerStatus, type ToolSource, type ToolSpec } from './Tool.js';
import type { ImageGenerationConfig } from './toolConfig.js';
import { qualifiedName } from './toolNames.js';
import { describeError } from '../util/describeError.js';

/** Matches memory/search gives back (as !search shows). */
const SEARCH_RESULTS = 5;
const EXCERPT_CHARS = 300;
/** A generated picture larger than this is not sent. */
const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

function spec(server: string, name: string, description: string, properties: Record<string, unknown>, required: string[]): ToolSpec {
  return { qualified: qualifiedName(server, name), server, name, description, parameters: { type: 'object', properties, required } };
}

function builtinStatus(server: string, tools: number): ToolServerStatus {
  return { server, kind: 'builtin', state: 'ready', tools, restarts: 0, error: null, since: 0 };
}

function stringArg(args: Record<string, unknown>, name: string): string | null {
  const value = args[name];
  return typeof value === 'string' && value.trim() ? value.trim() : null;
}

/**
 * `memory/search` and `memory/note`: the persona's own long-term memory, with the rules of
 * `!search` and `!remember` (what it has seen of this room since it joined and after `!forget`;
 * a note in a group room is for every persona there, in a DM for this one; the same limits).
 */
export class MemoryTools implements ToolSource {
  readonly server = 'memory';
  private readonly specs = [
    spec(this.server, 'search', "Searches this room's older messages (as you have seen them) for words; returns the best matches with dates.", { query: { type: 'string', description: 'Words to look for.' } }, ['query']),
    spec(this.server, 'note', 'Keeps a short note about this conversation that you will always have in mind here.', { text: { type: 'string', description: `The note, at most ${MAX_NOTE_LENGTH} characters.` } }, ['text']),
  ];

  constructor(
    private readonly deps: {
      search: Pick<MessageSearch, 'search'>;
      notes: Pick<NoteStore, 'add' | 'forPersona'>;
    },
  ) {}

  tools(): ToolSpec[] {
    return this.specs;
  }

  status(): ToolServerStatus {
    return builtinStatus(this.server, this.specs.length);
  }

  async call(tool: string, args: Record<string, unknown>, context: ToolCallContext): Promise<ToolOutput> {
    if (tool === 'search') {
      const query = stringArg(args, 'query');
      if (!query) return errorOutput('Give the words to look for as "query".');
      const hits = this.deps.search.search(query, { roomId: context.roomId, personaId: context.personaId }, SEARCH_RESULTS);
      if (hits.length === 0) return textOutput(`Nothing in this room's history matches "${query}".`);
      return textOutput(
        hits
          .map(({ message: m }, i) => {
            const flat = m.body.replace(/\s+/g, ' ').trim();
            return `${i + 1}. ${new Date(m.ts).toISOString().slice(0, 16).replace('T', ' ')} UTC, ${m.displayName ?? m.sender}: ${flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS - 1)}…` : flat}`;
          })
          .join('\n'),
      );
    }
    if (tool === 'note') {
      const text = stringArg(args, 'text');
      if (!text) return errorOutput('Give the note as "text".');
      if (text.length > MAX_NOTE_LENGTH) return errorOutput(`That note is ${text.length} characters long; notes are at most ${MAX_NOTE_LENGTH}. Say it shorter.`);
      if (this.deps.notes.forPersona(context.roomId, context.personaId).length >= MAX_NOTES_PER_ROOM) {
        return errorOutput(`There are already ${MAX_NOTES_PER_ROOM} notes here, the most kept in one room; no note was added.`);
      }
      const note = this.deps.notes.add({ roomId: context.roomId, personaId: context.isDirect ? context.personaId : null, body: text, author: context.requester, eventId: null });
      return textOutput(`Noted (#${note.id}).`);
    }
    return errorOutput(`There is no tool memory/${tool}.`);
  }
}

/** How a generated picture reaches the room: uploaded and sent as the persona's m.image; its event id. */
export type ToolImageSender = (context: ToolCallContext, image: { data: Buffer; mimetype: string; name: string; description: string }) => Promise<string>;

/**
 * `images/generate`: a picture from a description through an OpenAI-compatible
 * `/v1/images/generations` endpoint (images.generation), sent to the room as an `m.image` by
 * the persona. The model is told it was sent (not given the picture).
 */
export class ImageTools implements ToolSource {
  readonly server = 'images';
  private readonly specs = [
    spec(this.server, 'generate', 'Draws a picture from a description and shows it in the room.', { prompt: { type: 'string', description: 'What the picture shows, in detail.' } }, ['prompt']),
  ];

  constructor(
    private readonly config: ImageGenerationConfig,
    private readonly sender: { sendImage: ToolImageSender },
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  tools(): ToolSpec[] {
    return this.specs;
  }

  status(): ToolServerStatus {
    return builtinStatus(this.server, this.specs.length);
  }

  async call(tool: string, args: Record<string, unknown>, context: ToolCallContext): Promise<ToolOutput> {
    if (tool !== 'generate') return errorOutput(`There is no tool images/${tool}.`);
    const prompt = stringArg(args, 'prompt');
    if (!prompt) return errorOutput('Describe the picture as "prompt".');
    const signal = AbortSignal.any([context.signal, AbortSignal.timeout(this.config.timeout_seconds * 1000)]);
    let image: { data: Buffer; mimetype: string };
    try {
      image = await this.generate(prompt.slice(0, 4000), signal);
    } catch (err) {
      if (context.signal.aborted) throw err;
      return errorOutput(`The picture could not be made: ${describeError(err)}`);
    }
    const eventId = await this.sender.sendImage(context, { ...image, name: `picture.${image.mimetype.split('/')[1] ?? 'png'}`, description: prompt.slice(0, 300) });
    return textOutput(`The picture was made and is now shown in the room (${eventId}). Do not describe it as an attachment or link; it is there.`);
  }

  private async generate(prompt: string, signal: AbortSignal): Promise<{ data: Buffer; mimetype: string }> {
    const url = `${this.config.base_url.replace(/\/+$/, '')}/images/generations`;
    const response = await this.fetchImpl(url, {
      method: 'POST',
      signal,
      headers: { 'content-type': 'application/json', ...(this.config.api_key ? { authorization: `Bearer ${this.config.api_key}` } : {}) },
      body: JSON.stringify({ model: this.config.model, prompt, n: 1, size: this.config.size, response_format: 'b64_json' }),
    });
    const text = await response.text();
    if (text.length > MAX_IMAGE_BYTES * 1.4) throw new Error('the answer is too large');
    let body: { data?: Array<{ b64_json?: unknown; url?: unknown }>; error?: { message?: unknown } };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new Error(`HTTP ${response.status}: the answer is not JSON`);
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${typeof body.error?.message === 'string' ? body.error.message.slice(0, 300) : 'refused'}`);
    const first = body.data?.[0];
    if (typeof first?.b64_json === 'string') {
      const data = Buffer.from(first.b64_json, 'base64');
      return { data, mimetype: sniffImageType(data) };
    }
    if (typeof first?.url === 'string') {
      const downloaded = await safeDownload(first.url, { maxBytes: MAX_IMAGE_BYTES, timeoutMs: 60_000, allowPrivate: true });
      return { data: downloaded.data, mimetype: sniffImageType(downloaded.data) };
    }
    throw new Error('the endpoint answered without a picture');
  }
}

function sniffImageType(data: Buffer): string {
  if (data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (data[0] === 0xff && data[1] === 0xd8) return 'image/jpeg';
  if (data.subarray(0, 4).toString('latin1') === 'RIFF' && data.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  if (data.subarray(0, 3).toString('latin1') === 'GIF') return 'image/gif';
  throw new Error('the answer is not a PNG, JPEG, WebP or GIF picture');
}
