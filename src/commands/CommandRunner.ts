import { getLogger } from '../logging.js';
import { describeError } from '../util/describeError.js';
import type { RoomEvent } from '../matrix/events.js';
import { AmbiguousName } from '../util/nameFolding.js';
import { unknownCommand } from './messages.js';
import { UsageError, type Command, type CommandContext, type CommandData, type CommandSource, type CommandTable, type HelpWhere, type OutgoingFile, type PersonaTarget } from './CommandTable.js';

const log = getLogger('CommandRunner');

export interface CommandRunnerDeps {
  table: CommandTable;
  isAdmin(userId: string): boolean;
  reply(roomId: string, text: string, html?: string): Promise<void>;
  /** Exports need it; without it, a command that sends a file fails saying so. */
  sendFile?(roomId: string, file: OutgoingFile): Promise<void>;
}

/** Who runs a command, where, and where its answers go: a chat message or the console. */
export interface Invocation {
  sender: string;
  roomId: string | null;
  event?: RoomEvent;
  via: CommandSource;
  isAdmin: boolean;
  /** The console user's working folder, for relative paths. */
  cwd?: string;
  /** The console's y/N answer; in chat (and `admin`) a `--yes` argument confirms. */
  confirmed?: boolean;
  /** Set for persona-scope commands (the dispatcher, for each persona addressed). */
  persona?: PersonaTarget;
  /** The kind of room, for the nearest commands to a mistyped one; absent: the console (all apply). */
  where?: HelpWhere;
  reply(text: string, html?: string): Promise<void>;
  sendFile(file: OutgoingFile): Promise<void>;
}

export interface CommandOutcome {
  ok: boolean;
  /** A destructive command that was not confirmed: the question; nothing was done. */
  confirm?: string;
  /** What the command handed back as data (CommandContext.data), for `admin --json`. */
  data?: CommandData;
}

/** The confirmation word: `--yes` anywhere in the arguments. */
const YES = '--yes';

/** The refusal a sender gets for a command they may not run, or null when they may. */
function refusal(table: CommandTable, command: Command, inv: Invocation): string | null {
  switch (command.permission) {
    case 'anyone':
      return null;
    case 'admin':
      return inv.isAdmin ? null : (command.refusal ?? `Sorry, only bridge admins may use ${table.prefix}${command.name}.`);
    case 'dm-partner':
      return inv.isAdmin || inv.persona?.isDirect
        ? null
        : (command.refusal ?? `Only bridge admins may use ${table.prefix}${command.name} here; in a direct chat with the persona, you can.`);
  }
}

/**
 * Runs a command line against the table: permission check, usage errors answered with
 * the right syntax, destructive commands asking first, unexpected failures answered briefly
 * and logged in full. The same path for chat and the console.
 */
export async function runCommandText(table: CommandTable, text: string, inv: Invocation): Promise<CommandOutcome> {
  const failed = async (message: string): Promise<CommandOutcome> => {
    await inv.reply(message);
    return { ok: false };
  };
  const scope = inv.persona ? 'persona' : 'bot';
  const parsed = table.parse(text, scope);
  if (parsed.kind === 'invalid') return failed(parsed.error);
  if (parsed.kind === 'unknown') {
    // The words that were not understood: the first, or the first two when the first is ours (`!persona lst`).
    const typed = parsed.words.slice(0, table.classify(text) ? 2 : 1).join(' ');
    const nearest = table.nearest(parsed.words, table.applicable(scope, inv.isAdmin, inv.where)).map((c) => `${table.prefix}${c.name}`);
    return failed(unknownCommand(`${table.prefix}${typed}`, nearest, table.prefix));
  }
  const { command, rest } = parsed;
  const refused = refusal(table, command, inv);
  if (refused) {
    log.info(`refused ${command.name} from ${inv.sender}${inv.roomId ? ` in ${inv.roomId}` : ''}${inv.persona ? ` for ${inv.persona.persona.userId}` : ''}`);
    return failed(refused);
  }
  const yes = command.confirm !== undefined && parsed.args.includes(YES);
  const args = yes ? parsed.args.filter((a) => a !== YES) : parsed.args;
  let ok = true;
  let data: CommandData | undefined;
  const ctx: CommandContext = {
    ...(inv.event ? { event: inv.event } : {}),
    roomId: inv.roomId,
    sender: inv.sender,
    via: inv.via,
    ...(inv.cwd ? { cwd: inv.cwd } : {}),
    confirmed: yes || inv.confirmed === true,
    args,
    rest,
    isAdmin: inv.isAdmin,
    ...(inv.persona ? { persona: inv.persona } : {}),
    reply: (t, html) => inv.reply(t, html),
    data: (value) => {
      data = value;
    },
    fail: async (t) => {
      ok = false;
      await inv.reply(t);
    },
    sendFile: (file) => inv.sendFile(file),
  };
  try {
    const question = ctx.confirmed ? null : (command.confirm?.(ctx) ?? null);
    if (question) {
      if (inv.via === 'chat') await inv.reply(`${question}\nNothing was done: send the command again with ${YES} to go ahead.`);
      return { ok: false, confirm: question };
    }
    await command.run(ctx);
    return { ok, ...(data ? { data } : {}) };
  } catch (err) {
    if (err instanceof UsageError) return failed(`${err.message}\nUsage: ${table.usageOf(command)}`);
    // A name that fits several personas: the candidates, nothing done.
    if (err instanceof AmbiguousName) return failed(err.message);
    log.error(`command ${command.name} from ${inv.sender} failed${inv.roomId ? ` in ${inv.roomId}` : ''}`, { error: err });
    return failed(`${table.prefix}${command.name} failed: ${describeError(err)}`);
  }
}

/** A command message in a room; persona-scope commands name the persona addressed. */
export async function runCommand(deps: CommandRunnerDeps, event: RoomEvent, body: string, persona?: PersonaTarget, where?: HelpWhere): Promise<void> {
  await runCommandText(deps.table, body, {
    sender: event.sender,
    roomId: event.room_id,
    event,
    via: 'chat',
    isAdmin: deps.isAdmin(event.sender),
    ...(persona ? { persona } : {}),
    ...(where ? { where } : {}),
    reply: (text, html) => deps.reply(event.room_id, text, html),
    sendFile: async (file) => {
      if (!deps.sendFile) throw new Error(`cannot send ${file.name} here`);
      await deps.sendFile(event.room_id, file);
    },
  });
}
