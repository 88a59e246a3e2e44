/**
 * `!status`: is the bridge well, at a glance. Anyone gets the short form (uptime, how many
 * personas, whether their models answer, encryption, answers waiting); admins (and the
 * console) get the full one: each model with the personas on it and why one does not answer,
 * the tool servers and their state, and the queues.
 */
import type { ToolServerStatus } from '../tools/Tool.js';
import { describeToolServers } from '../tools/toolStatus.js';
import type { Command } from './CommandTable.js';

/** One model the personas use, as `backend/model` (the model alone on the default backend). */
export interface ModelUse {
  label: string;
  /** The endpoint, for admins. */
  baseUrl: string;
  /** Personas on it, by name. */
  personas: string[];
  /** Null when it answers; else why not (for admins). */
  problem: string | null;
}

export interface BridgeStatus {
  uptimeMs: number;
  personas: string[];
  models: ModelUse[];
  encryption: boolean;
  queues: {
    /** Answers queued or being written, all rooms. */
    answers: number;
    /** Requests being answered by a model / waiting for a free slot. */
    llmActive: number;
    llmWaiting: number;
    /** Rooms with events still being handled. */
    roomsBusy: number;
  };
  /** One line per tool server (MCP or built-in): state, tools, restarts, the failure; for admins. */
  toolServers: string[];
}

/** Where `!status` reads the bridge's state. */
export interface StatusSources {
  startedAt: number;
  now?: () => number;
  /** The live personas, with their `model` setting. */
  personas(): { name: string; model: string | null }[];
  /** Where a `model` setting goes: its backend, the model, and how to show it (`backend/model`). */
  route(model: string | null): { backend: string; model: string; label: string; baseUrl: string };
  /** Null when the backend serves the model; else why not (probes/ModelStatus). */
  modelProblem(backend: string, model: string): Promise<string | null>;
  encryption: boolean;
  queues(): BridgeStatus['queues'];
  /** The tool servers and their state; none when absent. */
  toolServers?(): ToolServerStatus[];
}

/** The bridge's state now: each model the personas use (the default one too), asked whether it answers. */
export async function collectStatus(src: StatusSources): Promise<BridgeStatus> {
  const personas = src.personas();
  const uses = new Map<string, ModelUse & { backend: string; model: string }>();
  const use = (setting: string | null, persona?: string) => {
    const route = src.route(setting);
    const entry = uses.get(route.label) ?? { label: route.label, baseUrl: route.baseUrl, backend: route.backend, model: route.model, personas: [], problem: null };
    if (persona) entry.personas.push(persona);
    uses.set(route.label, entry);
  };
  use(null);
  for (const p of personas) use(p.model, p.name);
  const models = await Promise.all(
    [...uses.values()].map(async ({ backend, model, ...m }) => ({ ...m, problem: await src.modelProblem(backend, model) })),
  );
  const now = (src.now ?? Date.now)();
  return {
    uptimeMs: now - src.startedAt,
    personas: personas.map((p) => p.name),
    models,
    encryption: src.encryption,
    queues: src.queues(),
    toolServers: describeToolServers(src.toolServers?.() ?? [], now),
  };
}

const TEXT = {
  uptime: (ms: number) => `Up ${duration(ms)}.`,
  personas: (names: string[]) => (names.length === 0 ? 'No personas yet.' : `${names.length} persona${names.length === 1 ? '' : 's'}: ${names.join(', ')}.`),
  personaCount: (n: number) => (n === 0 ? 'No personas yet.' : `${n} persona${n === 1 ? '' : 's'}.`),
  modelsShort: (models: ModelUse[]) => {
    const down = models.filter((m) => m.problem !== null).length;
    if (models.length === 0) return '';
    if (down === 0) return models.length === 1 ? 'The model answers.' : `All ${models.length} models answer.`;
    return models.length === 1 ? 'The model does not answer right now.' : `${down} of ${models.length} models do not answer right now.`;
  },
  modelLine: (m: ModelUse) =>
    `- ${m.label} at ${m.baseUrl}${m.personas.length ? ` (${m.personas.join(', ')})` : ''}: ${m.problem === null ? 'answers' : `does NOT answer: ${m.problem}`}`,
  encryption: (on: boolean) => (on ? 'Encryption: on.' : 'Encryption: off (personas say once per encrypted room that they cannot read it).'),
  encryptionShort: (on: boolean) => `Encryption: ${on ? 'on' : 'off'}.`,
  waitingShort: (n: number) => (n === 0 ? 'Nothing waiting.' : `${n} answer${n === 1 ? '' : 's'} waiting.`),
  queues: (q: BridgeStatus['queues']) =>
    `Queues: ${q.answers} answer${q.answers === 1 ? '' : 's'} queued or being written; ${q.llmActive} model request${q.llmActive === 1 ? '' : 's'} running, ${q.llmWaiting} waiting; ${q.roomsBusy} room${q.roomsBusy === 1 ? '' : 's'} handling events.`,
};

/** `3 d 4 h`, `2 h 13 min`, `5 min 2 s`, `42 s`: the two largest units. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const units: [number, string][] = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'min'],
    [s % 60, 's'],
  ];
  const first = units.findIndex(([n]) => n > 0);
  if (first === -1) return '0 s';
  return units
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n} ${unit}`)
    .join(' ');
}

/** The status as an admin reads it: one line per model. */
export function fullStatus(s: BridgeStatus): string {
  return [
    `${TEXT.uptime(s.uptimeMs)} ${TEXT.personas(s.personas)}`,
    ...(s.models.length ? ['Models:', ...s.models.map(TEXT.modelLine)] : []),
    ...(s.toolServers.length ? ['Tool servers:', ...s.toolServers.map((line) => `- ${line}`)] : []),
    TEXT.encryption(s.encryption),
    TEXT.queues(s.queues),
  ].join('\n');
}

/** The status as anyone reads it: one line. */
export function shortStatus(s: BridgeStatus): string {
  return [TEXT.uptime(s.uptimeMs), TEXT.personaCount(s.personas.length), TEXT.modelsShort(s.models), TEXT.encryptionShort(s.encryption), TEXT.waitingShort(s.queues.answers + s.queues.llmWaiting)]
    .filter(Boolean)
    .join(' ');
}

export function statusCommand(sources: StatusSources): Command {
  return {
    name: 'status',
    usage: '',
    help: 'how the bridge is: uptime, personas, whether their models answer, encryption, answers waiting (admins: in full)',
    permission: 'anyone',
    async run(ctx) {
      const status = await collectStatus(sources);
      // Scripts get what the reply says: all of it for admins, the short form's facts for others.
      ctx.data(ctx.isAdmin ? { ...status } : { uptimeMs: status.uptimeMs, personas: status.personas.length, modelsAnswering: status.models.every((m) => m.problem === null), encryption: status.encryption });
      await ctx.reply(ctx.isAdmin ? fullStatus(status) : shortStatus(status));
    },
  };
}
