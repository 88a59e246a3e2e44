import type { PersonaCommandHook } from '../dispatch/Dispatcher.js';
import type { ReplyRequest } from '../dispatch/Responder.js';
import { getLogger } from '../logging.js';
import type { MemoryStore } from '../memory/MemoryStore.js';
import type { PersonaDirectory } from '../personas/Persona.js';
import { noticeContent } from './replyContent.js';

const log = getLogger('MemoryCommands');

/** `!forget` / `!summary`, optionally followed by whom they address (`!forget @Ada`). */
const MEMORY_COMMAND = /^!(forget|summary)(?=\s|$)/i;

/** Help lines for !help: these are sent in a persona's room and answered by the persona. */
export const MEMORY_COMMANDS_HELP: readonly string[] = [
  '!summary — the persona shows what it remembers of this room (its stored summary)',
  '!forget — the persona forgets this room (admins; or you, in your direct chat with it)',
];

/** True for the memory commands, so the recorder and the bot leave them alone. */
export function isMemoryCommand(body: string): boolean {
  return MEMORY_COMMAND.test(body.trim());
}

export interface MemoryCommandsDeps {
  memory: MemoryStore;
  personas: PersonaDirectory;
  members: { joined(roomId: string): string[] };
  isAdmin(userId: string): boolean;
  sendEvent(userId: string, roomId: string, type: string, content: Record<string, unknown>): Promise<string>;
  /** memory.summarize_after_messages, to explain why there is no summary yet. */
  summarizeAfterMessages: number;
}

/**
 * Commands people give a persona about its memory of the room, answered by the persona as a
 * notice. The dispatcher offers every `!` message addressed to a persona here first
 * (PersonaCommandHook); anything else is left to it.
 *
 * - `!forget`: the persona forgets this room (its summaries, and the messages so far as far as
 *   it is concerned). Bridge admins anywhere; in a DM, the person it talks with.
 * - `!summary`: shows the persona's stored summary of this room (or of the thread).
 */
export class MemoryCommands implements PersonaCommandHook {
  constructor(private readonly deps: MemoryCommandsDeps) {}

  async tryHandle(request: ReplyRequest): Promise<boolean> {
    const body = typeof request.event.content.body === 'string' ? request.event.content.body.trim() : '';
    const match = MEMORY_COMMAND.exec(body);
    if (!match) return false;
    const command = match[1]!.toLowerCase();
    const text = command === 'forget' ? this.forget(request) : this.summary(request);
    await this.deps.sendEvent(request.persona.userId, request.event.room_id, 'm.room.message', noticeContent(text, {
      eventId: request.event.event_id,
      threadRootId: request.threadRootId,
    }));
    return true;
  }

  private forget(request: ReplyRequest): string {
    const { persona, event } = request;
    const roomId = event.room_id;
    if (!this.deps.isAdmin(event.sender) && !request.isDirect) {
      log.info(`refused !forget from ${event.sender} for ${persona.userId} in ${roomId}`);
      return `Only bridge admins can make me forget a group room. (In a direct chat with me, you can.)`;
    }
    // Messages are shared by the personas of a room: delete them only when no other persona is here.
    const othersHere = this.deps.members.joined(roomId).some((u) => u !== persona.userId && this.deps.personas.byUserId(u));
    this.deps.memory.forget(persona.userId, roomId, { deleteMessages: !othersHere });
    log.info(`${persona.userId} forgot ${roomId} at the request of ${event.sender}`);
    return "Done — I've forgotten our conversation in this room so far.";
  }

  private summary(request: ReplyRequest): string {
    const { persona, event } = request;
    const scope = { personaId: persona.userId, roomId: event.room_id, threadRoot: request.threadRootId };
    const chapters = this.deps.memory.chapters(scope, 5);
    const where = request.threadRootId ? 'this thread' : 'this room';
    if (chapters.length === 0) {
      const pending = this.deps.memory.countUnsummarised(scope);
      return (
        `I have no summary of ${where} yet: I write one once more than ${this.deps.summarizeAfterMessages} messages ` +
        `have built up (${pending} so far).`
      );
    }
    const total = chapters.reduce((n, c) => n + c.messageCount, 0);
    return `My summary of ${where} (${total} older message${total === 1 ? '' : 's'}, oldest first):\n\n${chapters.map((c) => c.summary).join('\n\n')}`;
  }
}
