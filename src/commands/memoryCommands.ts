import { getLogger } from '../logging.js';
import type { MemoryStore } from '../memory/MemoryStore.js';
import type { PersonaDirectory } from '../personas/Persona.js';
import type { Command, CommandContext, PersonaTarget } from './CommandTable.js';
import { forgetPersonForms, forgetPersonQuestion, type MemoriesDeps } from './memoriesCommands.js';
import { withoutAddress } from './recallCommands.js';

const log = getLogger('MemoryCommands');

export interface MemoryCommandsDeps {
  memory: Pick<MemoryStore, 'forget' | 'chapters' | 'countUnsummarised'>;
  personas: PersonaDirectory;
  members: { joined(roomId: string): string[] };
  /** memory.summarize_after_messages, to explain why there is no summary yet. */
  summarizeAfterMessages: number;
  /** `!forget <n>`, `!forget me`, `!forget @user`: what memory keeps about people; omit for the room form only. */
  people?: MemoriesDeps;
}

const ROOM_REFUSAL = 'Only bridge admins can make me forget a group room. (In a direct chat with me, you can.)';

/** What follows `!forget` (the persona's address and `--yes` left out). */
function given(ctx: CommandContext): string {
  return ctx.persona ? withoutAddress(ctx.args.join(' '), ctx.persona.persona) : ctx.args.join(' ').trim();
}

function target(ctx: CommandContext): PersonaTarget & { roomId: string } {
  if (!ctx.persona || !ctx.roomId) throw new Error('a persona command was run without its persona and room');
  return { ...ctx.persona, roomId: ctx.roomId };
}

/**
 * Commands people give a persona about its memory of the room, answered by the persona
 * (persona scope: each persona the message addresses answers for itself).
 *
 * - `forget`: the persona forgets this room (its summaries, and the messages so far as far as
 *   it is concerned). Bridge admins anywhere; in a DM, the person it talks with.
 * - `summary`: shows the persona's stored summary of this room (or of the thread).
 */
export function memoryCommands(deps: MemoryCommandsDeps): Command[] {
  return [
    {
      name: 'forget',
      usage: '[<number> | me | @user:server]',
      help: 'the persona forgets this room (admins; or you, in your direct chat with it); with a number from !memories, that item; me: everything about you, across every persona (admins: @user for anyone)',
      permission: 'anyone',
      scope: 'persona',
      confirm: (ctx) => forgetPersonQuestion(ctx, given(ctx)),
      async run(ctx) {
        const { persona, roomId, isDirect } = target(ctx);
        const args = given(ctx);
        if (args && deps.people && (await forgetPersonForms(ctx, args, deps.people, isDirect))) return;
        // The room form: bridge admins anywhere; in a DM, the person the persona talks with.
        if (!ctx.isAdmin && !isDirect) return ctx.fail(ROOM_REFUSAL);
        // Messages are shared by the personas of a room: delete them only when no other persona is here.
        const othersHere = deps.members.joined(roomId).some((u) => u !== persona.userId && deps.personas.byUserId(u));
        deps.memory.forget(persona.userId, roomId, { deleteMessages: !othersHere });
        log.info(`${persona.userId} forgot ${roomId} at the request of ${ctx.sender}`);
        await ctx.reply("Done — I've forgotten our conversation in this room so far.");
      },
    },
    {
      name: 'summary',
      usage: '',
      help: 'the persona shows what it remembers of this room (its stored summary)',
      permission: 'anyone',
      scope: 'persona',
      async run(ctx) {
        const { persona, threadRootId, roomId } = target(ctx);
        const scope = { personaId: persona.userId, roomId, threadRoot: threadRootId };
        const chapters = deps.memory.chapters(scope, 5);
        const where = threadRootId ? 'this thread' : 'this room';
        if (chapters.length === 0) {
          const pending = deps.memory.countUnsummarised(scope);
          return ctx.reply(
            `I have no summary of ${where} yet: I write one once more than ${deps.summarizeAfterMessages} messages ` +
              `have built up (${pending} so far).`,
          );
        }
        const total = chapters.reduce((n, c) => n + c.messageCount, 0);
        await ctx.reply(
          `My summary of ${where} (${total} older message${total === 1 ? '' : 's'}, oldest first):\n\n${chapters.map((c) => c.summary).join('\n\n')}`,
        );
      },
    },
  ];
}
