import levenshtein from 'damerau-levenshtein';
import { ArgumentError, splitArgs } from './splitArgs.js';
import type { RoomEvent } from '../matrix/events.js';
import type { Persona } from '../personas/Persona.js';
import { describeError } from '../util/describeError.js';

/**
 * Who may run a command:
 * - `anyone`;
 * - `admin`: bridge admins (config.admins);
 * - `dm-partner`: admins anywhere, and the person a persona talks with in their direct chat.
 */
export type Permission = 'anyone' | 'admin' | 'dm-partner';

/**
 * Who answers a command:
 * - `bot`: the bridge bot, in rooms it is in (`!help`, `!persona spawn`);
 * - `persona`: each persona the message addresses, in the persona's room (`!forget`).
 */
export type CommandScope = 'bot' | 'persona';

/**
 * Where a bot command applies, for help: `group` commands are about a room shared by several
 * members (`!next`, `!room set`, mute); help lists them in group rooms (and at the console),
 * not in direct chats. Absent: anywhere.
 */
export type CommandPlace = 'group';

/**
 * Where help is asked for: a direct chat (two members) or a group room, or, when absent, the
 * console (everything). `note`: in a group room, how the room is run (its order mode).
 */
export interface HelpWhere {
  room: 'direct' | 'group';
  note?: string;
  /**
   * False when the bridge bot is not in the room: a persona speaks for the bridge there, and
   * the admin commands do not work (see runsWithoutBot); `botNote` says where they do.
   */
  botHere?: boolean;
  botNote?: string;
}

/** The persona a persona-scope command is addressed to, and where. */
export interface PersonaTarget {
  persona: Persona;
  /** Exactly two joined members: the persona and the sender. */
  isDirect: boolean;
  /** The thread the command was sent in, if any. */
  threadRootId: string | null;
}

/** A file a command hands back (an exported card): an m.file in chat, a file beside the console. */
export interface OutgoingFile {
  name: string;
  mimetype: string;
  data: Buffer;
}

/** Where a command came from: a chat message, or the admin console (no room, no event). */
export type CommandSource = 'chat' | 'console';

/** What a command hands scripts (`admin --json`): plain JSON. */
export type CommandData = { [key: string]: unknown };

export interface CommandContext {
  /** The chat message; absent for the console. */
  event?: RoomEvent;
  /** The room the command was sent in; null for the console, which has none. */
  roomId: string | null;
  /** The chat sender, or `console:<OS user>` for the console's built-in admin identity. */
  sender: string;
  via: CommandSource;
  /** The console user's working folder (relative paths resolve against it); absent in chat. */
  cwd?: string;
  /** True when a destructive command was confirmed (`--yes`, or y at the console). */
  confirmed: boolean;
  /** Arguments after the command words, split like a shell. */
  args: string[];
  /** The raw text after the command words, for free-text arguments. */
  rest: string;
  isAdmin: boolean;
  /** Set for persona-scope commands: the persona addressed. */
  persona?: PersonaTarget;
  reply(text: string, html?: string): Promise<void>;
  /**
   * The command's result as data, for scripts: `admin --json` prints it as `data` (objects with
   * ids, names, counts), where the reply is text for people. Chat shows only the reply.
   */
  data(value: CommandData): void;
  /** Replies and marks the command as failed (`admin` exits non-zero). */
  fail(text: string): Promise<void>;
  sendFile(file: OutgoingFile): Promise<void>;
}

export interface Command {
  /** Command words after the prefix, e.g. `persona spawn`. */
  name: string;
  /** Argument synopsis shown in help and in usage errors, e.g. `<Name> [--model M]`. */
  usage: string;
  /** One line for help. */
  help: string;
  permission: Permission;
  /** Default `bot`. */
  scope?: CommandScope;
  /** Where it applies (help lists it only there); default anywhere. */
  where?: CommandPlace;
  /**
   * Persona scope: the command is about the room's shared memory (notes, search) or the room
   * itself (`!stop`), not one persona's own: sent to a group room without naming a persona, it
   * runs once for the room (commands/unaddressedCommands).
   */
  roomWide?: boolean;
  /** What a refused sender is told instead of the generic refusal (e.g. in the persona's voice). */
  refusal?: string;
  /**
   * For destructive commands: the question to confirm (what will be lost), or null when
   * nothing needs confirming. Asked unless the command carries `--yes`.
   */
  confirm?(ctx: CommandContext): string | null;
  run(ctx: CommandContext): Promise<void>;
}

/** A user mistake: the message is shown to them, with the command's usage appended. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type ParsedCommand =
  | { kind: 'command'; command: Command; args: string[]; rest: string }
  | { kind: 'unknown'; words: string[] }
  | { kind: 'invalid'; error: string };

/** Help sections, in order: the bot's commands, those of group rooms, the personas'. */
type Section = 'bot' | 'group' | 'persona';
const SECTIONS: Record<Section, string> = {
  bot: 'Commands:',
  group: 'In a group room:',
  persona: 'In a room with a persona:',
};
const sectionOf = (c: Command): Section => (scopeOf(c) === 'persona' ? 'persona' : c.where === 'group' ? 'group' : 'bot');

const scopeOf = (c: Command): CommandScope => c.scope ?? 'bot';

/**
 * THE rule for a room without the bridge bot but with a persona (which speaks for the bridge
 * there, see rooms/RoomVoice): every command runs there but the admin ones, which belong in
 * the bot's direct chat or a room it is in (they manage the bridge, not the room).
 */
export const runsWithoutBot = (c: Command): boolean => c.permission !== 'admin';
const firstWord = (c: Command): string => c.name.split(' ')[0]!;

/**
 * The one list of commands: running them, help, and "is this message a command?" all read
 * it, so none of them can drift from what actually runs.
 */
export class CommandTable {
  private readonly commands: Command[] = [];
  /** First command word -> its scope: the classifier's lookup. */
  private readonly scopes = new Map<string, CommandScope>();

  constructor(readonly prefix = '!') {}

  add(...commands: Command[]): this {
    for (const command of commands) {
      const word = firstWord(command);
      const scope = scopeOf(command);
      const taken = this.scopes.get(word);
      // One word, one scope: otherwise a message could be both a bot and a persona command.
      if (taken && taken !== scope) throw new Error(`command word '${word}' is used by both ${taken} and ${scope} commands`);
      this.scopes.set(word, scope);
    }
    this.commands.push(...commands);
    // Longest names first so `persona spawn` wins over a hypothetical `persona`.
    this.commands.sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
    return this;
  }

  list(scope?: CommandScope): readonly Command[] {
    return this.commands.filter((c) => !scope || scopeOf(c) === scope).sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): Command | undefined {
    return this.commands.find((c) => c.name === name);
  }

  /**
   * THE check "is this message a command, and for whom?": the prefix and a known first
   * command word. Used by the bot-command step, the recorder (commands are not conversation)
   * and the dispatcher (bot commands get no persona answer). `!wow what a day` is not one.
   */
  classify(body: string): CommandScope | null {
    const text = body.trimStart();
    if (!text.startsWith(this.prefix)) return null;
    const word = text.slice(this.prefix.length).split(/\s+/, 1)[0]?.toLowerCase() ?? '';
    return this.scopes.get(word) ?? null;
  }

  /**
   * The prefix followed by a word (`!foo`, `!hlep`), whether or not the word is ours: what
   * the bot's own direct chat answers as an unknown command. `!!!` and `! hi` are not.
   */
  looksLikeCommand(body: string): boolean {
    const text = body.trimStart();
    return text.startsWith(this.prefix) && /^[\p{L}\p{N}]/u.test(text.slice(this.prefix.length));
  }

  /** Parses a message starting with the prefix, among the commands of one scope. */
  parse(body: string, scope: CommandScope = 'bot'): ParsedCommand {
    const text = body.trimStart().slice(this.prefix.length).trim();
    const words = text.split(/\s+/);
    for (const command of this.commands) {
      if (scopeOf(command) !== scope) continue;
      const nameWords = command.name.split(' ');
      if (nameWords.every((w, i) => words[i]?.toLowerCase() === w)) {
        // Re-find the remainder in the original text to keep its spacing and quotes.
        let rest = text;
        for (let i = 0; i < nameWords.length; i++) rest = rest.replace(/^\S+\s*/, '');
        try {
          return { kind: 'command', command, args: splitArgs(rest), rest };
        } catch (err) {
          const msg = err instanceof ArgumentError ? err.message : describeError(err);
          return { kind: 'invalid', error: `${msg}. Usage: ${this.usageOf(command)}` };
        }
      }
    }
    return { kind: 'unknown', words };
  }

  /**
   * The commands that apply where the sender is: of this scope, for their place (no group-room
   * command in a direct chat), that they may run, and (without the bot in the room) that
   * work without it. No `where`: the console, where every command applies.
   */
  applicable(scope: CommandScope, isAdmin: boolean, where?: HelpWhere): Command[] {
    return this.list(scope).filter(
      (c) =>
        (isAdmin || c.permission !== 'admin') &&
        !(where?.room === 'direct' && c.where === 'group') &&
        !(where?.botHere === false && !runsWithoutBot(c)),
    );
  }

  /**
   * The one or two commands nearest to a mistyped one (`!hlep`, `!persna list`, `!persona
   * lst`), by edit distance with transpositions over as many typed words as each command has;
   * none when nothing is close (a typo changes a few letters, not the word).
   */
  nearest(words: readonly string[], among: readonly Command[]): Command[] {
    const scored = among
      .map((command) => {
        const name = command.name;
        const typed = words.slice(0, name.split(' ').length).join(' ').toLowerCase();
        return { command, steps: levenshtein(typed, name).steps, allowed: Math.max(1, Math.floor(name.length / 3)) };
      })
      .filter((s) => s.steps <= s.allowed)
      .sort((a, b) => a.steps - b.steps || a.command.name.localeCompare(b.command.name));
    const best = scored[0]?.steps ?? 0;
    return scored
      .filter((s) => s.steps <= best + 1)
      .slice(0, 2)
      .map((s) => s.command);
  }

  usageOf(command: Command): string {
    return `${this.prefix}${command.name}${command.usage ? ` ${command.usage}` : ''}`;
  }

  /** Help lines of one scope, marking admin-only commands; non-admins see only what they may run. */
  helpText(isAdmin: boolean, scope: CommandScope = 'bot'): string {
    return this.helpLines(isAdmin, this.list(scope));
  }

  private helpLines(isAdmin: boolean, commands: readonly Command[]): string {
    return commands
      .filter((c) => isAdmin || c.permission !== 'admin')
      .map((c) => `${this.usageOf(c)} — ${c.help}${c.permission === 'admin' ? ' (admin)' : ''}`)
      .join('\n');
  }

  /**
   * The whole help: one section per kind of command the reader may run where they ask. In a
   * direct chat the group-room commands are left out; in a group room their section is
   * "In this room", headed by the room's note (its order mode).
   */
  fullHelp(isAdmin: boolean, where?: HelpWhere): string {
    const all = this.list().filter((c) => where?.botHere !== false || runsWithoutBot(c));
    const sections = (Object.keys(SECTIONS) as Section[])
      .filter((section) => !(section === 'group' && where?.room === 'direct'))
      .map((section) => {
        const lines = this.helpLines(isAdmin, all.filter((c) => sectionOf(c) === section));
        const inThisRoom = section === 'group' && where?.room === 'group';
        const title = inThisRoom ? `In this room:${where.note ? `\n${where.note}` : ''}` : SECTIONS[section];
        return [title, lines] as const;
      })
      .filter(([, lines]) => lines !== '')
      .map(([title, lines]) => `${title}\n${lines}`);
    return [...sections, ...(where?.botHere === false && where.botNote ? [where.botNote] : [])].join('\n\n');
  }
}
