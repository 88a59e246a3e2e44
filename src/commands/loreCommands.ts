import { getLogger } from '../logging.js';
import type { CharacterBook } from '../lore/book.js';
import { parseBookFile } from '../lore/bookFile.js';
import { describeBook } from '../lore/describeBook.js';
import type { LoreStore, LoreTarget, StoredBook } from '../lore/LoreStore.js';
import type { PersonaStore } from '../personas/PersonaStore.js';
import { DownloadError } from '../portability/boundedDownload.js';
import { ImportError } from '../portability/ImportError.js';
import { UsageError, type Command, type CommandContext } from './CommandTable.js';
import { readImportSource, type ImportMedia } from './importSource.js';

const log = getLogger('LoreCommands');

export interface LoreCommandsDeps {
  lore: LoreStore;
  personas: Pick<PersonaStore, 'recordByName' | 'byUserId'>;
  media: ImportMedia;
  prefix: string;
}

/** Longest book name (it is typed in commands). */
const MAX_NAME = 100;

/** User-facing texts of the lore commands, in one place. */
const TEXT = {
  notImported: (why: string) => `Nothing was imported: ${why}`,
  imported: (name: string, format: string, replaced: boolean, info: ReturnType<typeof describeBook>, attachHint: string) =>
    [
      `${replaced ? 'Replaced' : 'Imported'} lorebook '${name}' (${format}): ${info.entries} entr${info.entries === 1 ? 'y' : 'ies'}${info.disabled ? `, ${info.disabled} disabled` : ''}.`,
      info.unusableKeys.length
        ? `These regular-expression keys will never match (look-ahead and back-references cannot run here): ${info.unusableKeys.slice(0, 5).join(', ')}${info.unusableKeys.length > 5 ? ', …' : ''}.`
        : '',
      replaced ? 'It stays attached where it was.' : attachHint,
    ]
      .filter(Boolean)
      .join('\n'),
  attachHint: (prefix: string, name: string) => `Attach it with ${prefix}lore attach ${quote(name)} <persona name | room>.`,
  noBook: (name: string, prefix: string) => `No lorebook named '${name}'. Send ${prefix}lore list to see them.`,
  noTarget: (given: string, prefix: string) => `'${given}' is neither a persona (send ${prefix}persona list) nor 'room' nor a room ID (!…:server).`,
  roomAtConsole: "At the console there is no 'this room': give the room's ID (!…:server).",
  attached: (book: string, where: string) => `Lorebook '${book}' is now used by ${where}.`,
  alreadyAttached: (book: string, where: string) => `Lorebook '${book}' was already attached to ${where}.`,
  detached: (book: string, where: string) => `Lorebook '${book}' is no longer used by ${where}.`,
  notAttached: (book: string, where: string) => `Lorebook '${book}' was not attached to ${where}.`,
  detachedAll: (book: string, n: number) => (n ? `Lorebook '${book}' is detached from everything (${n} place${n === 1 ? '' : 's'}).` : `Lorebook '${book}' was not attached anywhere.`),
  none: (prefix: string) => `No lorebooks yet. Import one with ${prefix}lore import (a lorebook_v3 or SillyTavern World Info JSON).`,
  deleteQuestion: (book: StoredBook) => `Delete lorebook '${book.name}' (${book.entries} entries${book.attachedTo.length ? `, attached to ${book.attachedTo.length} place(s)` : ''})?`,
  deleted: (name: string) => `Deleted lorebook '${name}'.`,
};

const quote = (name: string): string => (/\s/.test(name) ? `"${name}"` : name);

/**
 * Standalone lorebooks (admins): import (lorebook_v3, SillyTavern World Info, a card's book),
 * attach to a persona or a room (every persona there uses it), list, detach, delete.
 */
export function loreCommands(deps: LoreCommandsDeps): Command[] {
  const { prefix } = deps;
  const book = (name: string | undefined): StoredBook => {
    if (!name) throw new UsageError('Which lorebook? Give its name.');
    const found = deps.lore.byName(name);
    if (!found) throw new NotFound(TEXT.noBook(name, prefix));
    return found;
  };
  const target = (ctx: CommandContext, given: string): LoreTarget => {
    if (given.toLowerCase() === 'room') {
      if (!ctx.roomId) throw new NotFound(TEXT.roomAtConsole);
      return { kind: 'room', id: ctx.roomId };
    }
    if (/^![^:\s]+:\S+$/.test(given)) return { kind: 'room', id: given };
    const persona = deps.personas.recordByName(given);
    if (!persona) throw new NotFound(TEXT.noTarget(given, prefix));
    return { kind: 'persona', id: persona.userId };
  };
  const describeTarget = (ctx: CommandContext, t: LoreTarget): string => {
    if (t.kind === 'persona') return deps.personas.byUserId(t.id)?.name ?? t.id;
    return t.id === ctx.roomId ? 'every persona in this room' : `every persona in ${t.id}`;
  };
  /** Runs a command body, answering a missing book or target as a failure. */
  const guarded = (run: (ctx: CommandContext) => Promise<void>) => async (ctx: CommandContext) => {
    try {
      await run(ctx);
    } catch (err) {
      if (err instanceof NotFound) return ctx.fail(err.message);
      throw err;
    }
  };

  return [
    {
      name: 'lore import',
      usage: '[mxc://… | https://… | FILE] [--name NAME]',
      help: 'import a lorebook (lorebook_v3, SillyTavern World Info JSON, or the book of a card); attach the file with this as caption or reply to it',
      permission: 'admin',
      async run(ctx) {
        const { source, name } = parseImportArgs(ctx.args);
        let parsed;
        try {
          const file = await readImportSource(ctx, source, deps.media, 'the lorebook');
          parsed = parseBookFile(file.data, file.filename);
        } catch (err) {
          if (err instanceof ImportError || err instanceof DownloadError) return ctx.fail(TEXT.notImported(err.message));
          throw err;
        }
        const bookName = (name ?? parsed.book.name ?? '').trim().slice(0, MAX_NAME) || 'lorebook';
        const stored: CharacterBook = { ...parsed.book, name: bookName };
        const { replaced } = deps.lore.save(bookName, stored, parsed.format, ctx.sender);
        ctx.data({ book: { name: bookName, format: parsed.format, entries: stored.entries.length }, replaced });
        log.info(`lorebook '${bookName}' ${replaced ? 'replaced' : 'imported'} by ${ctx.sender} (${parsed.format}, ${stored.entries.length} entries)`);
        await ctx.reply(TEXT.imported(bookName, parsed.format, replaced, describeBook(stored), TEXT.attachHint(prefix, bookName)));
      },
    },
    {
      name: 'lore attach',
      usage: '<book> <persona name | room | !room:server>',
      help: "a lorebook is used by a persona, or by every persona in a room ('room': this one)",
      permission: 'admin',
      run: guarded(async (ctx) => {
        if (ctx.args.length !== 2) throw new UsageError('Give the lorebook and where to attach it.');
        const found = book(ctx.args[0]);
        const where = target(ctx, ctx.args[1]!);
        const added = deps.lore.attach(found.id, where, ctx.sender);
        const described = describeTarget(ctx, where);
        ctx.data({ book: found.name, attachedTo: described, added });
        await ctx.reply(added ? TEXT.attached(found.name, described) : TEXT.alreadyAttached(found.name, described));
      }),
    },
    {
      name: 'lore detach',
      usage: '<book> [<persona name | room | !room:server>]',
      help: 'a lorebook is no longer used there (without a place: anywhere)',
      permission: 'admin',
      run: guarded(async (ctx) => {
        if (ctx.args.length < 1 || ctx.args.length > 2) throw new UsageError('Give the lorebook, and optionally where to detach it from.');
        const found = book(ctx.args[0]);
        if (ctx.args.length === 1) {
          const removed = deps.lore.detach(found.id);
          ctx.data({ book: found.name, detachedFrom: null, removed });
          return ctx.reply(TEXT.detachedAll(found.name, removed));
        }
        const where = target(ctx, ctx.args[1]!);
        const described = describeTarget(ctx, where);
        const removed = deps.lore.detach(found.id, where);
        ctx.data({ book: found.name, detachedFrom: described, removed });
        await ctx.reply(removed ? TEXT.detached(found.name, described) : TEXT.notAttached(found.name, described));
      }),
    },
    {
      name: 'lore list',
      usage: '',
      help: 'the lorebooks, their entries and where they are used',
      permission: 'admin',
      async run(ctx) {
        const books = deps.lore.list();
        ctx.data({ books: books.map((b) => ({ name: b.name, format: b.format, entries: b.entries, usedBy: b.attachedTo.map((t) => describeTarget(ctx, t)) })) });
        if (books.length === 0) return ctx.reply(TEXT.none(prefix));
        const lines = books.map((b) => {
          const where = b.attachedTo.length ? b.attachedTo.map((t) => describeTarget(ctx, t)).join('; ') : 'not attached';
          return `${b.name} — ${b.entries} entries (${b.format}); used by: ${where}`;
        });
        await ctx.reply(`Lorebooks (${books.length}):\n${lines.join('\n')}`);
      },
    },
    {
      name: 'lore delete',
      usage: '<book> [--yes]',
      help: 'delete a lorebook (and detach it everywhere)',
      permission: 'admin',
      confirm: (ctx) => {
        const found = deps.lore.byName(ctx.args[0] ?? '');
        return found ? TEXT.deleteQuestion(found) : null;
      },
      run: guarded(async (ctx) => {
        if (ctx.args.length !== 1) throw new UsageError('Give the lorebook to delete.');
        const found = book(ctx.args[0]);
        deps.lore.delete(found.id);
        ctx.data({ deleted: found.name });
        log.info(`lorebook '${found.name}' deleted by ${ctx.sender}`);
        await ctx.reply(TEXT.deleted(found.name));
      }),
    },
  ];
}

class NotFound extends Error {}

/** `--name NAME` and at most one source word. */
function parseImportArgs(args: string[]): { source: string | null; name?: string } {
  let source: string | null = null;
  let name: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--name' || arg.startsWith('--name=')) {
      name = arg.includes('=') ? arg.slice(7) : args[++i];
      if (!name?.trim()) throw new UsageError('Option --name needs a value.');
    } else if (arg.startsWith('--')) throw new UsageError(`Unknown option '${arg}'.`);
    else if (source === null) source = arg;
    else throw new UsageError('Give one file, URL or path.');
  }
  return { source, ...(name !== undefined ? { name } : {}) };
}
