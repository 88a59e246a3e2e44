import type { LogFile } from '../logFile.js';
import { fetchHistorySince, type BackfillFilter, type BackfillResult, type RoomHistory } from '../memory/backfill.js';
import type { MemoryPurge, PurgeCount, RoomOverview } from '../memory/purge.js';
import type { PersonaLifecycle } from '../personas/PersonaLifecycle.js';
import type { PersonaStore } from '../personas/PersonaStore.js';
import type { RoomEvent } from '../matrix/events.js';
import { UsageError, type Command } from './CommandTable.js';
import { describeError } from '../util/describeError.js';

export interface OperationsDeps {
  purge: MemoryPurge;
  /** Rooms with personas: who is in them, and what memory has of them (memory/purge.ts roomOverview). */
  rooms(): RoomOverview[];
  store: PersonaStore;
  lifecycle: PersonaLifecycle;
  personasDirectory: string;
  members: { ensureLoaded(roomId: string): Promise<void>; joinedCount(roomId: string): number };
  logFile(): LogFile | null;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const describeCount = (c: PurgeCount) => `${plural(c.messages, 'message')} and ${plural(c.summaries, 'summary')}`.replace('summarys', 'summaries');

type PurgeTarget = { kind: 'all' } | { kind: 'room'; roomId: string } | { kind: 'persona'; userId: string; name: string };

/** The operator's commands (console and chat): rooms, memory purges, reseeding, log rotation. */
export function operationsCommands(deps: OperationsDeps): Command[] {
  const { purge, store } = deps;

  const purgeTarget = (args: string[]): PurgeTarget => {
    const what = args[0];
    if (!what || args.length > 1) throw new UsageError('Give one room ID, one persona name, or --all.');
    if (what === '--all') return { kind: 'all' };
    if (what.startsWith('!')) return { kind: 'room', roomId: what };
    const persona = store.recordByName(what);
    if (!persona) throw new UsageError(`'${what}' is neither a room ID (!id:server) nor a persona name.`);
    return { kind: 'persona', userId: persona.userId, name: persona.name };
  };
  const countOf = (t: PurgeTarget) => (t.kind === 'all' ? purge.countAll() : t.kind === 'room' ? purge.countRoom(t.roomId) : purge.countPersona(t.userId));
  const label = (t: PurgeTarget) => (t.kind === 'all' ? 'all rooms' : t.kind === 'room' ? t.roomId : `${t.name} (its summaries, and its rooms no other persona is in)`);

  return [
    {
      name: 'rooms',
      usage: '',
      help: 'rooms with personas: who is in them, members, last activity',
      permission: 'admin',
      async run(ctx) {
        const rooms = deps.rooms();
        const data: { roomId: string; personas: string[]; members: number; messages: number; lastActivity: string | null }[] = [];
        for (const room of rooms) {
          await deps.members.ensureLoaded(room.roomId).catch(() => undefined);
          const lastActivity = room.lastActivity === null ? null : new Date(room.lastActivity).toISOString();
          data.push({ roomId: room.roomId, personas: room.personas, members: deps.members.joinedCount(room.roomId), messages: room.messages, lastActivity });
        }
        ctx.data({ rooms: data });
        if (data.length === 0) return ctx.reply('No rooms with personas.');
        const lines = [`${plural(data.length, 'room')} with personas:`];
        for (const r of data) {
          const last = r.lastActivity === null ? 'no messages remembered' : `last message ${r.lastActivity}`;
          lines.push(`${r.roomId} — ${r.personas.join(', ')} — ${plural(r.members, 'member')} — ${plural(r.messages, 'message')}, ${last}`);
        }
        await ctx.reply(lines.join('\n'));
      },
    },
    {
      name: 'purge memory',
      usage: '<!room:server | Name | --all> [--yes]',
      help: 'delete remembered messages and summaries (asks first)',
      permission: 'admin',
      confirm(ctx) {
        const target = purgeTarget(ctx.args);
        return `Delete ${describeCount(countOf(target))} of ${label(target)}? This cannot be undone.`;
      },
      async run(ctx) {
        const target = purgeTarget(ctx.args);
        const done = target.kind === 'all' ? purge.purgeAll() : target.kind === 'room' ? purge.purgeRoom(target.roomId) : purge.purgePersona(target.userId);
        ctx.data({ target, deleted: done });
        await ctx.reply(`Deleted ${describeCount(done)} of ${label(target)}.`);
      },
    },
    {
      name: 'reseed',
      usage: '[--yes]',
      help: 're-provision the seed personas from their files, overwriting changes made in chat (asks first)',
      permission: 'admin',
      confirm() {
        const seeded = store.allRecords().filter((r) => r.creator.startsWith('file:'));
        return `Re-apply ${plural(seeded.length, 'seed persona')} from ${deps.personasDirectory}, overwriting what was changed with !persona set?`;
      },
      async run(ctx) {
        // Forgetting which definition was applied makes every file count as edited.
        store.forgetSeedDigests();
        const report = await deps.lifecycle.provisionFiles(deps.personasDirectory);
        ctx.data({ provisioned: report.provisioned, problems: report.problems });
        const lines = [`Provisioned ${plural(report.provisioned.length, 'persona')}${report.provisioned.length ? `: ${report.provisioned.join(', ')}` : ''}.`];
        for (const p of report.problems) lines.push(`${p.file}${p.skipped ? ' (skipped)' : ''}: ${p.errors.join('; ')}`);
        if (report.problems.some((p) => p.skipped)) return ctx.fail(lines.join('\n'));
        await ctx.reply(lines.join('\n'));
      },
    },
    {
      name: 'logs rotate',
      usage: '',
      help: 'start a new log file now (logging.file); the old one is kept with the time in its name',
      permission: 'admin',
      async run(ctx) {
        const file = deps.logFile();
        if (!file) return ctx.fail('No log file is configured (logging.file in the config); logs go to stdout only.');
        const rotated = await file.rotate();
        ctx.data({ rotatedTo: rotated ?? null, file: file.currentFile ?? null });
        await ctx.reply(rotated ? `Rotated: the old log is ${rotated}; writing to ${file.currentFile ?? 'a new file'}.` : 'Reopened the log file (nothing had been written yet).');
      },
    },
  ];
}

/** `2d`, `12h`, `30m` ago, or an ISO date/time; null when the text is neither. */
export function parseSince(text: string, now = Date.now()): number | null {
  const rel = /^(\d+)([dhm])$/.exec(text);
  if (rel) return now - Number(rel[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as 'd' | 'h' | 'm'];
  if (!/^\d{4}-\d\d-\d\d/.test(text)) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}

export interface BackfillDeps {
  store: Pick<PersonaStore, 'firstJoins'>;
  /** Memory's side (memory/backfill.ts): a room's `!forget` horizon, and storing what was read. */
  memory: {
    hasForgetHorizon(roomId: string): boolean;
    store(roomId: string, events: RoomEvent[], filter: BackfillFilter): BackfillResult;
  };
  history: RoomHistory;
  filter: BackfillFilter;
}

/** `backfill [ROOM|--all] [--since …]`: memory gets what it missed, from the homeserver's history. */
export function backfillCommand(deps: BackfillDeps): Command {
  return {
    name: 'backfill',
    usage: '<!room:server | --all> [--since 2d|12h|2026-01-31]',
    help: "fill gaps in memory from the homeserver's history, for the time the room's personas have been in it (safe to repeat)",
    permission: 'admin',
    async run(ctx) {
      let target: string | null = null;
      let since = 0;
      for (let i = 0; i < ctx.args.length; i++) {
        const arg = ctx.args[i]!;
        if (arg === '--since' || arg.startsWith('--since=')) {
          const value = arg.includes('=') ? arg.slice(8) : ctx.args[++i];
          const parsed = value === undefined ? null : parseSince(value);
          if (parsed === null) throw new UsageError(`--since takes 2d, 12h, 30m or a date like 2026-01-31, not '${value ?? ''}'.`);
          since = parsed;
        } else if (target === null && (arg === '--all' || arg.startsWith('!'))) target = arg;
        else throw new UsageError(`Unexpected '${arg}'.`);
      }
      if (target === null) throw new UsageError('Give a room ID or --all.');
      const joined = deps.store.firstJoins(target === '--all' ? undefined : target);
      if (joined.length === 0) return ctx.fail(target === '--all' ? 'No rooms with personas.' : `No persona is in ${target}.`);
      const lines: string[] = [];
      let failed = false;
      for (const { roomId, joinedAt } of joined) {
        if (deps.memory.hasForgetHorizon(roomId)) {
          lines.push(`${roomId}: skipped (a persona was told to !forget here; its forgotten history stays forgotten)`);
          continue;
        }
        try {
          const events = await fetchHistorySince(deps.history, roomId, Math.max(since, joinedAt));
          const result = deps.memory.store(roomId, events, deps.filter);
          lines.push(`${roomId}: ${result.inserted} message${result.inserted === 1 ? '' : 's'} filled in${result.edited ? `, ${result.edited} edits applied` : ''} (of ${events.length} events read)`);
        } catch (err) {
          failed = true;
          lines.push(`${roomId}: failed: ${describeError(err)}`);
        }
      }
      if (failed) return ctx.fail(lines.join('\n'));
      await ctx.reply(lines.join('\n'));
    },
  };
}
