import { VOICE_REPLIES, type Persona, type VoiceReplies } from '../personas/Persona.js';
import { noSuchPersona, PersonaError, type PersonaLifecycle, type PersonaUpdate } from '../personas/PersonaLifecycle.js';
import { renderPersonaError } from './personaErrors.js';
import { personaNameProblem } from '../personas/personaName.js';
import type { PersonaRecord, PersonaStore } from '../personas/PersonaStore.js';
import { UsageError, type Command, type CommandContext } from './CommandTable.js';
import { parseAllowList } from '../tools/allowList.js';
import { describeError } from '../util/describeError.js';

export interface PersonaCommandDeps {
  lifecycle: PersonaLifecycle;
  store: PersonaStore;
  /** The command prefix (commands.prefix), for the next step a refusal suggests. */
  prefix: string;
  /** What people think of the persona's answers (reactions), one line for `persona show`. */
  feedback?: (userId: string) => string;
  /** How people are told it is an AI character (`disclosure`), one line for `persona show`. */
  disclosure?: string;
  /** The tool servers there are (tools.mcp_servers and the built-in ones), to warn of a name that is none. */
  toolServers?: () => string[];
  /** The model a persona's `model` setting means (LlmRouter.label): its own, or the default one. */
  modelLabel(model: string | null): string;
  /** A persona's ID (`--id`: its user ID without the prefix and the server), for `admin --json`; default the user ID. */
  personaId?(userId: string): string;
}

/** Keyword that clears an optional field with !persona set. */
const UNSET = 'unset';
const SET_FIELDS = ['prompt', 'name', 'model', 'temperature', 'avatar', 'traits', 'live', 'tools', 'voice', 'voice_replies'] as const;
type SetField = (typeof SET_FIELDS)[number];

/** Refusals from the lifecycle are answers, not crashes: rendered in chat syntax, and the command fails. */
function answeringRefusals(prefix: string, run: (ctx: CommandContext) => Promise<void>): (ctx: CommandContext) => Promise<void> {
  return async (ctx) => {
    try {
      await run(ctx);
    } catch (err) {
      if (err instanceof PersonaError) return ctx.fail(renderPersonaError(err, prefix));
      throw err;
    }
  };
}

function requireName(value: string | undefined, what = 'persona name'): string {
  if (value === undefined || value === '') throw new UsageError(`Missing the ${what}.`);
  const problem = personaNameProblem(value);
  if (problem) throw new UsageError(`Invalid name '${value}': ${problem}.`);
  return value;
}

export function parseTemperature(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 2) {
    throw new UsageError(`Temperature must be a number from 0 to 2, not '${text}'.`);
  }
  return value;
}

/** Traits as a JSON object, or `key=value` words (numbers and true/false are typed). */
export function parseTraits(words: string[]): Record<string, unknown> {
  const text = words.join(' ').trim();
  if (text.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`Traits are not valid JSON: ${describeError(err)}.`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError('Traits must be a JSON object.');
    return value as Record<string, unknown>;
  }
  const traits: Record<string, unknown> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new UsageError(`Traits are a JSON object or key=value pairs; '${word}' is neither.`);
    const raw = word.slice(eq + 1);
    const num = Number(raw);
    traits[word.slice(0, eq)] = raw === 'true' ? true : raw === 'false' ? false : raw.trim() !== '' && Number.isFinite(num) ? num : raw;
  }
  return traits;
}

export interface SpawnArgs {
  name: string;
  /** `--id`: the user ID part after the prefix; null derives it from the name. */
  id: string | null;
  model: string | null;
  temperature: number | null;
  avatar: string | null;
  room: string | null;
  prompt: string;
}

const SPAWN_OPTIONS = ['id', 'model', 'temperature', 'avatar', 'room'] as const;

/** `<Name> [--id ID] [--model M] [--temperature T] [--avatar URL] [--room ROOM] <system prompt...>`; options also as `--opt=value`. */
export function parseSpawnArgs(args: string[]): SpawnArgs {
  const name = requireName(args[0]?.startsWith('--') ? undefined : args[0]);
  const options: Record<string, string> = {};
  let i = 1;
  for (; i < args.length && args[i]!.startsWith('--'); i++) {
    const word = args[i]!;
    const eq = word.indexOf('=');
    const key = (eq > 0 ? word.slice(2, eq) : word.slice(2)).toLowerCase();
    if (!(SPAWN_OPTIONS as readonly string[]).includes(key)) {
      throw new UsageError(`Unknown option '${eq > 0 ? word.slice(0, eq) : word}'.`);
    }
    const value = eq > 0 ? word.slice(eq + 1) : args[++i];
    if (value === undefined || value === '') throw new UsageError(`Option --${key} needs a value.`);
    if (key in options) throw new UsageError(`Option --${key} is given twice.`);
    options[key] = value;
  }
  const prompt = args.slice(i).join(' ').trim();
  if (!prompt) throw new UsageError('Missing the system prompt.');
  return {
    name,
    id: options.id ?? null,
    model: options.model ?? null,
    temperature: options.temperature === undefined ? null : parseTemperature(options.temperature),
    avatar: options.avatar ?? null,
    room: options.room ?? null,
    prompt,
  };
}

/** `on`/`off` (also yes/no, true/false) for a switch. */
function parseOnOff(value: string): boolean {
  const v = value.toLowerCase();
  if (['on', 'yes', 'true'].includes(v)) return true;
  if (['off', 'no', 'false'].includes(v)) return false;
  throw new UsageError(`'${value}' is not on, off or ${UNSET}.`);
}

function describeTools(tools: string[] | undefined): string {
  return tools?.length ? tools.join(', ') : 'none';
}

function describeLive(live: boolean | null | undefined): string {
  return live === true ? 'on' : live === false ? 'off' : 'default (replies.live)';
}

function describeVoice(persona: Pick<Persona, 'voice' | 'voiceReplies'>): string {
  if (!persona.voice) return 'none (writes only)';
  const when = persona.voiceReplies === 'always' ? 'always speaks' : persona.voiceReplies === 'never' ? 'never speaks' : 'answers voice with voice';
  return `${persona.voice} (${when})`;
}

/** `to_voice`, `always` or `never` (also `to-voice`). */
function parseVoiceReplies(value: string): VoiceReplies {
  const v = value.toLowerCase().replace('-', '_');
  if ((VOICE_REPLIES as readonly string[]).includes(v)) return v as VoiceReplies;
  throw new UsageError(`'${value}' is not ${VOICE_REPLIES.join(', ')} or ${UNSET}.`);
}

/** `<Name> <field> <value...>` as a PersonaUpdate. */
export function parseSetArgs(args: string[]): { name: string; field: SetField; update: PersonaUpdate } {
  const name = requireName(args[0]);
  const field = args[1]?.toLowerCase();
  if (!field) throw new UsageError('Missing the field to set.');
  if (!(SET_FIELDS as readonly string[]).includes(field)) throw new UsageError(`Unknown field '${args[1]}'; fields: ${SET_FIELDS.join(', ')}.`);
  const words = args.slice(2);
  const value = words.join(' ').trim();
  if (!value) throw new UsageError(`Missing the new ${field}.`);
  const unset = value.toLowerCase() === UNSET;
  switch (field as SetField) {
    case 'prompt':
      return { name, field: 'prompt', update: { prompt: value } };
    case 'name':
      return { name, field: 'name', update: { name: requireName(value, 'new name') } };
    case 'model':
      return { name, field: 'model', update: { model: unset ? null : value } };
    case 'temperature':
      return { name, field: 'temperature', update: { temperature: unset ? null : parseTemperature(value) } };
    case 'avatar':
      return { name, field: 'avatar', update: { avatar: unset ? null : value } };
    case 'traits':
      return { name, field: 'traits', update: { traits: unset ? {} : parseTraits(words) } };
    case 'live':
      return { name, field: 'live', update: { live: unset ? null : parseOnOff(value) } };
    case 'tools':
      try {
        return { name, field: 'tools', update: { tools: unset ? [] : parseAllowList(value) } };
      } catch (err) {
        throw new UsageError(`Tools are server/tool or server/* separated by spaces or commas, or none: ${describeError(err)}.`);
      }
    case 'voice':
      // `off` as well as `unset`: "voice off" is what people say.
      return { name, field: 'voice', update: { voice: unset || value.toLowerCase() === 'off' ? null : value } };
    case 'voice_replies':
      return { name, field: 'voice_replies', update: { voiceReplies: unset ? null : parseVoiceReplies(value) } };
  }
  throw new UsageError(`Unknown field '${field}'.`);
}

function describeSetting(persona: Persona, field: SetField): string {
  switch (field) {
    case 'prompt':
      return `prompt (${persona.prompt.length} characters)`;
    case 'name':
      return `name: ${persona.name}`;
    case 'model':
      return `model: ${persona.model ?? 'default (llm.model)'}`;
    case 'temperature':
      return `temperature: ${persona.temperature ?? 'default (llm.temperature)'}`;
    case 'avatar':
      return `avatar: ${persona.avatarUrl ?? 'none'}`;
    case 'traits':
      return `traits: ${JSON.stringify(persona.traits)}`;
    case 'live':
      return `live answers: ${describeLive(persona.live)}`;
    case 'tools':
      return `tools: ${describeTools(persona.tools)}`;
    case 'voice':
    case 'voice_replies':
      return `voice: ${describeVoice(persona)}`;
  }
}

/** A warning naming allowed servers that are not configured (allowed all the same: the config may come later). */
function unknownToolServers(tools: string[], known: string[] | undefined): string | null {
  if (!known) return null;
  const missing = [...new Set(tools.map((t) => t.slice(0, t.indexOf('/'))).filter((s) => !known.includes(s)))];
  return missing.length ? `Note: no tool server named ${missing.join(', ')} is configured (tools.mcp_servers); those tools are offered once one is.` : null;
}

/** A reply with the prompt-budget warning (promptFit) on a line of its own, when there is one. */
function withWarning(reply: string, warning: string | null): string {
  return warning ? `${reply}\n${warning}` : reply;
}

/** The admin commands that create, change and remove personas, and `!room create`. */
export function personaCommands(deps: PersonaCommandDeps): Command[] {
  const { lifecycle, store } = deps;
  const answering = (run: (ctx: CommandContext) => Promise<void>) => answeringRefusals(deps.prefix, run);
  const idOf = (userId: string): string => deps.personaId?.(userId) ?? userId;
  /** A persona as `admin --json` gives it: what `!persona list` shows an admin. */
  const personaData = (p: Pick<PersonaRecord, 'userId' | 'name' | 'model' | 'status'>) => ({
    id: idOf(p.userId),
    name: p.name,
    userId: p.userId,
    model: deps.modelLabel(p.model),
    modelSetting: p.model,
    rooms: store.roomCount(p.userId),
    state: p.status,
  });
  return [
    {
      name: 'persona spawn',
      usage: '<Name> [--id ID] [--model M] [--temperature T] [--avatar URL] [--room ROOM] <system prompt...>',
      help: 'create a persona as a new Matrix user; any Unicode name, the ID derived from it unless --id (avatar: mxc://, http(s):// or file:// image)',
      permission: 'admin',
      run: answering(async (ctx) => {
        const args = parseSpawnArgs(ctx.args);
        // Before anything is created: a prompt that cannot fit the model is refused.
        const warning = await lifecycle.checkPrompt(args.prompt, args.model ?? null);
        const result = await lifecycle.spawn({ ...args, creator: ctx.sender });
        const where = result.roomId ? ` and joined ${args.room}` : '';
        const resumed = result.completedEarlierAttempt ? ' (completing the earlier attempt)' : '';
        ctx.data({ persona: personaData(store.recordByName(result.persona.name) ?? { ...result.persona, status: 'active' as const }), roomId: result.roomId ?? null, warning });
        await ctx.reply(withWarning(`Spawned ${result.persona.name} as ${result.persona.userId}${where}${resumed}.`, warning));
      }),
    },
    {
      name: 'persona despawn',
      usage: '<Name>',
      help: 'remove a persona: leave its rooms, clear its profile, deactivate its account',
      permission: 'admin',
      run: answering(async (ctx) => {
        if (ctx.args.length > 1) throw new UsageError('Give exactly one persona name.');
        const name = requireName(ctx.args[0]);
        const { userId, roomsLeft } = await lifecycle.despawn(name, ctx.sender);
        ctx.data({ persona: { id: idOf(userId), name, userId, state: 'despawned' }, roomsLeft });
        await ctx.reply(`Despawned ${name} (${userId}): left ${roomsLeft} room${roomsLeft === 1 ? '' : 's'}, account deactivated.`);
      }),
    },
    {
      name: 'persona list',
      usage: '',
      help: 'the personas, with the model each uses (admins: also rooms, and those not active)',
      permission: 'anyone',
      run: answering(async (ctx) => {
        const records = store.allRecords();
        const lines: string[] = [];
        const active = records.filter((r) => r.status === 'active');
        // Admins see every persona and the seed files' problems; others the active ones, without rooms.
        const shown = ctx.isAdmin ? records : active;
        ctx.data({
          personas: shown.map((p) => (ctx.isAdmin ? personaData(p) : { id: idOf(p.userId), name: p.name, userId: p.userId, model: deps.modelLabel(p.model) })),
          ...(ctx.isAdmin ? { fileProblems: lifecycle.lastFileReport.problems } : {}),
        });
        lines.push(active.length === 0 ? 'No personas yet.' : `${active.length} persona${active.length === 1 ? '' : 's'}:`);
        for (const p of active) {
          const rooms = store.roomCount(p.userId);
          const where = ctx.isAdmin ? ` — ${rooms} room${rooms === 1 ? '' : 's'}` : '';
          lines.push(`${p.name} — ${p.userId} — model ${deps.modelLabel(p.model)}${where}`);
        }
        // The rest is for admins: what did not finish, and the seed files' problems.
        if (!ctx.isAdmin) return ctx.reply(lines.join('\n'));
        for (const p of records.filter((r) => r.status !== 'active')) {
          const state = p.status === 'provisioning' ? 'spawn did not finish' : 'despawn did not finish';
          lines.push(`${p.name} — ${p.userId} — not active: ${state}`);
        }
        const problems = lifecycle.lastFileReport.problems;
        if (problems.length > 0) {
          lines.push('Persona files with problems at start:');
          for (const p of problems) lines.push(`${p.file}${p.skipped ? ' (skipped)' : ''}: ${p.errors.join('; ')}`);
        }
        await ctx.reply(lines.join('\n'));
      }),
    },
    {
      name: 'persona show',
      usage: '<Name>',
      help: 'show all of a persona, prompt included',
      permission: 'admin',
      run: answering(async (ctx) => {
        const record = store.recordByName(requireName(ctx.args[0]));
        if (!record) throw noSuchPersona(ctx.args[0] ?? '');
        const rooms = store.rooms(record.userId);
        ctx.data({
          persona: {
            ...personaData(record),
            roomIds: rooms,
            prompt: record.prompt,
            temperature: record.temperature,
            avatarUrl: record.avatarUrl,
            traits: record.traits,
            live: record.live ?? null,
            tools: record.tools ?? [],
            createdAt: new Date(record.createdAt).toISOString(),
            creator: record.creator,
            ...(deps.feedback ? { feedback: deps.feedback(record.userId) } : {}),
          },
        });
        const lines = [
          `${record.name} (${record.userId})${record.status === 'active' ? '' : ` — not active (${record.status})`}`,
          `Model: ${deps.modelLabel(record.model)}${record.model ? '' : ' (the default)'}`,
          `Temperature: ${record.temperature ?? 'default (llm.temperature)'}`,
          `Avatar: ${record.avatarUrl ?? 'none'}`,
          `Traits: ${Object.keys(record.traits).length ? JSON.stringify(record.traits) : 'none'}`,
          `Live answers: ${describeLive(record.live)}`,
          `Tools: ${describeTools(record.tools)}`,
          `Voice: ${describeVoice(record)}`,
          `Created: ${new Date(record.createdAt).toISOString()} by ${record.creator}`,
          `Rooms (${rooms.length}): ${rooms.length ? rooms.join(', ') : 'none'}`,
          ...(deps.feedback ? [`Feedback: ${deps.feedback(record.userId)}`] : []),
          ...(deps.disclosure ? [`AI disclosure: ${deps.disclosure}`] : []),
          `Prompt: ${record.prompt}`,
        ];
        await ctx.reply(lines.join('\n'));
      }),
    },
    {
      name: 'persona set',
      usage: `<Name> <${SET_FIELDS.join('|')}> <value...>`,
      help: `change a persona (live on|off; tools server/tool server/* ...|none; voice <name>|off; voice_replies to_voice|always|never; ${UNSET} clears model, temperature, avatar, traits, live, tools or voice)`,
      permission: 'admin',
      run: answering(async (ctx) => {
        const { name, field, update } = parseSetArgs(ctx.args);
        // A new prompt, or a model with a smaller window, is checked before it is saved.
        const current = store.byName(name);
        const warning =
          current && (field === 'prompt' || field === 'model')
            ? await lifecycle.checkPrompt(update.prompt ?? current.prompt, update.model !== undefined ? update.model : current.model)
            : null;
        const record = await lifecycle.update(name, update);
        const unknownServers = field === 'tools' ? unknownToolServers(update.tools ?? [], deps.toolServers?.()) : null;
        ctx.data({ persona: personaData(store.recordByName(record.name) ?? { ...record, status: 'active' as const }), changed: field, warning: warning ?? unknownServers });
        await ctx.reply(withWarning(`Updated ${field === 'name' ? name : record.name}: ${describeSetting(record, field)}.`, warning ?? unknownServers));
      }),
    },
    {
      name: 'persona invite',
      usage: '<Name> [ROOM]',
      help: 'invite a persona into a room (default: this one) and have it join',
      permission: 'admin',
      run: answering(async (ctx) => {
        if (ctx.args.length > 2) throw new UsageError('Too many arguments.');
        const name = requireName(ctx.args[0]);
        const room = ctx.args[1] ?? ctx.roomId;
        if (!room) throw new UsageError('Give the ROOM: the console has no "this room".');
        const roomId = await lifecycle.invite(name, room);
        ctx.data({ persona: store.byName(name)?.name ?? name, roomId });
        const where = roomId === ctx.roomId ? 'this room' : room === roomId ? roomId : `${room} (${roomId})`;
        await ctx.reply(`${store.byName(name)?.name ?? name} joined ${where}.`);
      }),
    },
    {
      name: 'room create',
      usage: '<room name> [Name ...]',
      help: 'create a room with you and the listed personas in it',
      permission: 'admin',
      run: answering(async (ctx) => {
        const [roomName, ...names] = ctx.args;
        if (!roomName?.trim()) throw new UsageError('Missing the room name (quote it if it has spaces).');
        names.forEach((n) => requireName(n));
        const result = await lifecycle.createRoom(roomName, names, ctx.sender);
        ctx.data({ roomId: result.roomId, name: roomName, joined: result.joined, failed: result.failed });
        const parts = [`Created "${roomName}" (${result.roomId}) and invited you.`];
        if (result.joined.length) parts.push(`Joined: ${result.joined.join(', ')}.`);
        for (const f of result.failed) parts.push(`${f.name} could not join: ${f.error}.`);
        await ctx.reply(parts.join(' '));
      }),
    },
  ];
}
