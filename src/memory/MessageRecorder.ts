import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { PersonaDirectory } from '../personas/Persona.js';
import type { EventStep } from '../pipeline/EventStep.js';
import type { InboundEvent } from '../pipeline/InboundEvent.js';
import type { MemoryStore, NewMessage } from './MemoryStore.js';
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
  /**
   * Commits a new message's write after the work in hand (GroupCommit.later), without the
   * pipeline waiting for it: an answer's model request leaves first. Omit to wait for `commit`.
   */
  commitLater?: <T>(write: () => T) => Promise<T>;
}

/**
 * Remembers every message of rooms where a persona is joined (edits and redactions
 * included), so a persona's context survives restarts and does not depend on what the
 * homeserver still has.
 */
export class MessageRecorder implements EventStep {
  readonly name = 'memory-recorder';
  /** New messages whose write is queued and not committed yet (see commitLater), by event id, with that write. */
  private readonly queued = new Map<string, { message: NewMessage; written: Promise<unknown> }>();

  constructor(private readonly deps: MessageRecorderDeps) {}

  /**
   * The message as it will be stored, while its write waits (see commitLater): the answer to
   * it builds its prompt from this, and no message of the room after it can be stored before it.
   */
  queuedMessage(eventId: string): NewMessage | undefined {
    return this.queued.get(eventId)?.message;
  }

  /**
   * Settles once a queued message's write is over (committed on the next turn of the event
   * loop at the latest; failed writes settle too): for an answer that must add to the stored
   * message before the model is asked (a media message's transcript or description).
   */
  async stored(eventId: string): Promise<void> {
    await this.queued.get(eventId)?.written;
  }

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
    const message = newMessageFromEvent(event, parsed, room.displayName(event.sender) ?? null, ours);
    const { commitLater } = this.deps;
    if (!commitLater) {
      if (await this.write(event.room_id, `remember ${event.event_id}`, () => memory.record(message))) log.debug(`recorded ${event.event_id} in ${event.room_id}`);
      return;
    }
    // Not waited for: the pending row written as the message arrived keeps it safe meanwhile.
    const entry = { message, written: Promise.resolve() as Promise<unknown> };
    this.queued.set(event.event_id, entry);
    entry.written = this.write(event.room_id, `remember ${event.event_id}`, () => memory.record(message), commitLater)
      .then(
        (inserted) => inserted && log.debug(`recorded ${event.event_id} in ${event.room_id}`),
        (err: unknown) => log.error(`could not remember ${event.event_id} in ${event.room_id}`, { error: err }),
      )
      .finally(() => {
        if (this.queued.get(event.event_id) === entry) this.queued.delete(event.event_id);
      });
  }

  private async write<T>(roomId: string, what: string, write: () => T, commit = this.deps.commit): Promise<T | undefined> {
    const run = commit ? () => commit(write) : write;
    return this.deps.writes ? this.deps.writes.write(roomId, what, run) : run();
  }
}
