import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { PersonaDirectory } from '../personas/Persona.js';
import type { EventStep } from '../pipeline/EventStep.js';
import type { InboundEvent } from '../pipeline/InboundEvent.js';
import type { MemoryStore } from './MemoryStore.js';
import type { MemoryWriteGuard } from './MemoryWriteGuard.js';
import { editFromEvent, messageFromEvent, newMessageFromEvent } from './messageFromEvent.js';

const log = getLogger('MessageRecorder');

export interface MessageRecorderDeps {
  memory: MemoryStore;
  /** Whether a user is a live persona: only rooms with one are remembered. */
  personas: Pick<PersonaDirectory, 'byUserId'>;
  /** Failed writes (a full disk) are told to the room and do not stop the pipeline; omit to throw. */
  writes?: Pick<MemoryWriteGuard, 'write'>;
  /** Commits the writes with others of the same moment (GroupCommit); omit to write at once. */
  commit?: <T>(write: () => T) => Promise<T>;
}

/**
 * Remembers every message of rooms where a persona is joined (edits and redactions
 * included), so a persona's context survives restarts and does not depend on what the
 * homeserver still has.
 */
export class MessageRecorder implements EventStep {
  readonly name = 'memory-recorder';

  constructor(private readonly deps: MessageRecorderDeps) {}

  async handle(event: RoomEvent, inbound: InboundEvent): Promise<void> {
    const { memory } = this.deps;
    if (event.type === 'm.room.redaction') {
      const redacts = event.redacts;
      if (redacts) await this.write(event.room_id, 'forget a redacted message', () => memory.redact(redacts));
      return;
    }
    const edit = editFromEvent(event);
    if (edit) {
      await this.write(event.room_id, 'remember an edit', () => memory.applyEdit(edit.targetEventId, event.sender, edit.newBody));
      return;
    }
    const parsed = messageFromEvent(event);
    if (!parsed) return;
    const ours = inbound.senderKind !== 'person';
    // Our notices (errors, command answers) are not conversation; the bot never converses.
    if (ours && (parsed.msgtype === 'm.notice' || !inbound.persona)) return;
    // Commands (to the bot or a persona) are not conversation.
    if (inbound.command !== null) return;
    const room = await inbound.room();
    // Runs for every message: look the room's few members up among the personas, never the
    // other way round (list() copies and sorts every persona; 1,000 of them made this the
    // bridge's hottest line under load, see BENCHMARKS.md).
    if (!room.joined.some((userId) => this.deps.personas.byUserId(userId) !== undefined)) return;
    const displayName = room.displayName(event.sender) ?? null;
    const inserted = await this.write(event.room_id, `remember ${event.event_id}`, () => memory.record(newMessageFromEvent(event, parsed, displayName, ours)));
    if (inserted) log.debug(`recorded ${event.event_id} in ${event.room_id}`);
  }

  private async write<T>(roomId: string, what: string, write: () => T): Promise<T | undefined> {
    const { commit } = this.deps;
    const run = commit ? () => commit(write) : write;
    return this.deps.writes ? this.deps.writes.write(roomId, what, run) : run();
  }
}
