import { ArgumentError, splitArgs } from './splitArgs.js';
import type { RoomEvent } from '../matrix/events.js';

export type Permission = 'anyone' | 'admin';

/** A file a command hands back (an exported card): an m.file in chat, a file beside the console. */
export interface OutgoingFile {
  name: string;
  mimetype: string;
  data: Buffer;
}

/** Where a command came from: a chat message, or the admin console (no room, no event). */
export type CommandSource = 'chat' | 'console';

export interface CommandContext {
  /** The chat message; absent for the console. */
  event?: RoomEvent;
  /** The room the command was sent in; null for the console, which has none. */
  roomId: string | null;
  /** The chat sender, or `console:<OS user>` for the console's built-in admin identity. */
  sender: string;
  via: CommandSource;
  /** True when a destructive command was confirmed (`--yes`, or y at the console). */
  confirmed: boolean;
  /** Arguments after the command words, split like a shell. */
  args: string[];
  /** The raw text after the command words, for free-text arguments. */
  rest: string;
  isAdmin: boolean;
  reply(text: string, html?: string): Promise<void>;
  /** Replies and marks the command as failed (`admin` exits non-zero). */
  fail(text: string): Promise<void>;
  sendFile(file: OutgoingFile): Promise<void>;
}

export interface Command {
  /** Command words after the `!`, e.g. `persona spawn`. */
  name: string;
  /** Argument synopsis shown in help and in usage errors, e.g. `<Name> [--model M]`. */
  usage: string;
  /** One line for !help. */
  help: string;
  permission: Permission;
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
  | { kind: 'unknown'; words: string[]; suggestions: Command[] }
  | { kind: 'invalid'; error: string };

/**
 * The one list of commands: dispatch and !help both read it, so help can never drift from
 * what actually runs.
 */
export class CommandTable {
  private readonly commands: Command[] = [];

  constructor(readonly prefix = '!') {}

  add(...commands: Command[]): this {
    this.commands.push(...commands);
    // Longest names first so `persona spawn` wins over a hypothetical `persona`.
    this.commands.sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
    return this;
  }

  list(): readonly Command[] {
    return [...this.commands].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): Command | undefined {
    return this.commands.find((c) => c.name === name);
  }

  isCommand(body: string): boolean {
    if (!body.startsWith(this.prefix)) return false;
    const first = body.slice(this.prefix.length).split(/\s+/, 1)[0]?.toLowerCase() ?? '';
    return this.commands.some((c) => c.name.split(' ')[0] === first);
  }

  parse(body: string): ParsedCommand {
    const text = body.slice(this.prefix.length).trim();
    const words = text.split(/\s+/);
    for (const command of this.commands) {
      const nameWords = command.name.split(' ');
      if (nameWords.every((w, i) => words[i]?.toLowerCase() === w)) {
        // Re-find the remainder in the original text to keep its spacing and quotes.
        let rest = text;
        for (let i = 0; i < nameWords.length; i++) rest = rest.replace(/^\S+\s*/, '');
        try {
          return { kind: 'command', command, args: splitArgs(rest), rest };
        } catch (err) {
          const msg = err instanceof ArgumentError ? err.message : String(err);
          return { kind: 'invalid', error: `${msg}. Usage: ${this.usageOf(command)}` };
        }
      }
    }
    const first = words[0]?.toLowerCase() ?? '';
    return { kind: 'unknown', words, suggestions: this.list().filter((c) => c.name.split(' ')[0] === first) };
  }

  usageOf(command: Command): string {
    return `${this.prefix}${command.name}${command.usage ? ` ${command.usage}` : ''}`;
  }

  /** Help lines, marking admin-only commands; non-admins see only what they may run. */
  helpText(isAdmin: boolean): string {
    return this.list()
      .filter((c) => isAdmin || c.permission === 'anyone')
      .map((c) => `${this.usageOf(c)} — ${c.help}${c.permission === 'admin' ? ' (admin)' : ''}`)
      .join('\n');
  }
}
