import { getLogger } from '../logging.js';
import type { StoredMessage } from '../memory/MemoryStore.js';
import type { MessageSearch } from '../memory/MessageSearch.js';
import { queryTerms } from '../memory/searchQuery.js';
import { MAX_NOTE_LENGTH, MAX_NOTES_PER_ROOM, type Note, type NoteStore } from '../memory/NoteStore.js';
import { escapeRegExp } from '../util/escapeRegExp.js';
import { UsageError, type Command, type CommandContext, type PersonaTarget } from './CommandTable.js';
import { foldName, foldText } from '../util/nameFolding.js';

const log = getLogger('RecallCommands');

export interface RecallCommandsDeps {
  notes: Pick<NoteStore, 'add' | 'forPersona' | 'remove' | 'byEvent'>;
  search: Pick<MessageSearch, 'search'>;
}

/** Matches shown by !search and !recall. */
export const SEARCH_RESULTS = 5;
/** A matching message is shown cut to this many characters. */
const EXCERPT_CHARS = 200;

/** User-facing texts of these commands, in one place. */
const TEXT = {
  noteTooLong: (n: number) => `That note is ${n} characters long; notes are at most ${MAX_NOTE_LENGTH}. Say it shorter.`,
  tooManyNotes: (forget: string) => `I already keep ${MAX_NOTES_PER_ROOM} notes here, the most I keep in one room. Remove one first with ${forget}.`,
  noted: (note: Note, group: boolean) =>
    `Noted (#${note.id}). I'll keep it in mind${group ? ' — every persona in this room will' : ''}, however long ago it was said.`,
  noNotes: 'I keep no notes for this room yet.',
  notesTitle: (n: number) => `Notes I keep for this room (${n}):`,
  nothingFound: (query: string) => `Nothing in this room's history matches "${query}".`,
  foundTitle: (query: string) => `Best matches for "${query}" in this room's history:`,
  recallQueryHint: (prefix: string) => `Add words to look for older messages too, e.g. ${prefix}recall birthday.`,
  badNoteId: (given: string) => `'${given}' is not a note number: give the number shown by the recall command, e.g. 3.`,
  noSuchNote: (id: number) => `I keep no note #${id} in this room.`,
  notYourNote: 'Only the person who asked for that note, or a bridge admin, can remove it here.',
  forgotNote: (note: Note) => `Removed note #${note.id}: "${note.body}"`,
};

function target(ctx: CommandContext): PersonaTarget & { roomId: string } {
  if (!ctx.persona || !ctx.roomId) throw new Error('a persona command was run without its persona and room');
  return { ...ctx.persona, roomId: ctx.roomId };
}

/**
 * The command's text without the leading mention that addressed the persona (`!remember
 * @Ada: …`, `!search Ada, …`): that mention is who is asked, not what is asked.
 */
export function withoutAddress(text: string, persona: { name: string; userId: string }): string {
  const trimmed = text.trim();
  // Matched on the folded text (the name as people type it: "zoe," addresses Zoë), cut from the original.
  const { folded, origin } = foldText(trimmed);
  const names = [persona.userId, `@${persona.name}`, persona.name].map((n) => escapeRegExp(foldName(n))).join('|');
  const address = new RegExp(`^(?:${names})(?:[:,]|(?=\\s)|$)\\s*`).exec(folded);
  if (!address) return trimmed;
  return (address[0].length < folded.length ? trimmed.slice(origin[address[0].length]) : '').trim();
}

/** A link that opens the event in any Matrix client. */
export function eventLink(roomId: string, eventId: string): string {
  return `https://matrix.to/#/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`;
}

/** `2026-11-29 14:05 UTC`: the same everywhere, whatever the server's time zone. */
export function formatDate(ts: number): string {
  return `${new Date(ts).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function excerpt(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS - 1)}…` : flat;
}

function matchLines(roomId: string, messages: StoredMessage[]): string[] {
  return messages.map((m, i) => `${i + 1}. ${formatDate(m.ts)} — ${m.displayName ?? m.sender}: ${excerpt(m.body)}\n   ${eventLink(roomId, m.eventId)}`);
}

function noteLines(roomId: string, notes: Note[]): string[] {
  return notes.map((n) => `#${n.id} (${formatDate(n.createdAt)}${n.eventId ? `, ${eventLink(roomId, n.eventId)}` : ''}): ${n.body}`);
}

/**
 * Long-term memory commands, answered by the persona addressed (persona scope): notes
 * (`remember`, `recall`, `forget note`) and search of the room's history (`search`), both as
 * that persona has seen the room (since it joined, after its `!forget`).
 *
 * A note made in a group room is for every persona of the room; in a DM, for that persona.
 */
export function recallCommands(deps: RecallCommandsDeps, prefix: string): Command[] {
  const search = (ctx: CommandContext, query: string): StoredMessage[] => {
    const { persona, roomId } = target(ctx);
    return deps.search.search(query, { roomId, personaId: persona.userId }, SEARCH_RESULTS).map((h) => h.message);
  };
  return [
    {
      name: 'remember',
      roomWide: true,
      usage: '<text>',
      help: 'the persona keeps a note of this and always has it in mind (in a group room: every persona there)',
      permission: 'anyone',
      scope: 'persona',
      async run(ctx) {
        const { persona, roomId, isDirect } = target(ctx);
        const body = withoutAddress(ctx.rest, persona);
        if (!body) throw new UsageError('What should I remember? Put it after the command.');
        if (body.length > MAX_NOTE_LENGTH) return ctx.fail(TEXT.noteTooLong(body.length));
        // Several personas addressed at once each run this: one note, answered by each.
        const eventId = ctx.event?.event_id ?? null;
        const existing = eventId ? deps.notes.byEvent(roomId, eventId) : undefined;
        if (existing) return ctx.reply(TEXT.noted(existing, !isDirect));
        if (deps.notes.forPersona(roomId, persona.userId).length >= MAX_NOTES_PER_ROOM) return ctx.fail(TEXT.tooManyNotes(`${prefix}forget note <number>`));
        const note = deps.notes.add({ roomId, personaId: isDirect ? persona.userId : null, body, author: ctx.sender, eventId });
        log.info(`note #${note.id} in ${roomId} for ${isDirect ? persona.userId : 'the room'} by ${ctx.sender}`);
        await ctx.reply(TEXT.noted(note, !isDirect));
      },
    },
    {
      name: 'recall',
      roomWide: true,
      usage: '[words]',
      help: "the persona lists its notes for this room, and with words the older messages that match them, with dates and links",
      permission: 'anyone',
      scope: 'persona',
      async run(ctx) {
        const { persona, roomId } = target(ctx);
        const query = withoutAddress(ctx.rest, persona);
        const notes = deps.notes.forPersona(roomId, persona.userId);
        const parts = [notes.length ? [TEXT.notesTitle(notes.length), ...noteLines(roomId, notes)].join('\n') : TEXT.noNotes];
        if (query) {
          const found = search(ctx, query);
          parts.push(found.length ? [TEXT.foundTitle(query), ...matchLines(roomId, found)].join('\n') : TEXT.nothingFound(query));
        } else {
          parts.push(TEXT.recallQueryHint(prefix));
        }
        await ctx.reply(parts.join('\n\n'));
      },
    },
    {
      name: 'forget note',
      roomWide: true,
      usage: '<number>',
      help: 'the persona removes one of its notes (the person who asked for it, a bridge admin, or you in your direct chat)',
      permission: 'anyone',
      scope: 'persona',
      async run(ctx) {
        const { persona, roomId, isDirect } = target(ctx);
        const given = withoutAddress(ctx.rest, persona);
        if (!given) throw new UsageError('Which note? Give its number.');
        if (!/^#?\d+$/.test(given)) throw new UsageError(TEXT.badNoteId(given));
        const id = Number(given.replace('#', ''));
        const note = deps.notes.forPersona(roomId, persona.userId).find((n) => n.id === id);
        if (!note) return ctx.fail(TEXT.noSuchNote(id));
        if (!ctx.isAdmin && !isDirect && note.author !== ctx.sender) return ctx.fail(TEXT.notYourNote);
        deps.notes.remove(roomId, persona.userId, id);
        log.info(`note #${id} in ${roomId} removed by ${ctx.sender}`);
        await ctx.reply(TEXT.forgotNote(note));
      },
    },
    {
      name: 'search',
      roomWide: true,
      usage: '<words>',
      help: "the persona finds the messages of this room's history that best match the words, with sender, date and link",
      permission: 'anyone',
      scope: 'persona',
      async run(ctx) {
        const { persona, roomId } = target(ctx);
        const query = withoutAddress(ctx.rest, persona);
        if (!query) throw new UsageError('Search for what? Put the words after the command.');
        if (queryTerms(query).length === 0) throw new UsageError(`"${query}" has only common words; search for something more specific.`);
        const found = search(ctx, query);
        await ctx.reply(found.length ? [TEXT.foundTitle(query), ...matchLines(roomId, found)].join('\n') : TEXT.nothingFound(query));
      },
    },
  ];
}
