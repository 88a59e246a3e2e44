import { getLogger } from '../logging.js';
import type { RoomEvent } from '../matrix/events.js';
import type { PersonaDirectory } from '../personas/Persona.js';
import type { EventStep } from '../pipeline/EventStep.js';
import type { MemoryStore } from './MemoryStore.js';
import type { MemoryWriteGuard } from './MemoryWriteGuard.js';
import { editFromEvent, messageFromEvent, newMessageFromEvent } from './messageFromEvent.js';

const log = getLogger('MessageRecorder');

/** What the recorder reads of room membership (RoomMembers). */
export interface RecorderMembership {
  ensureLoaded(roomId: string): Promise<void>;
  joined(roomId: string): string[];
  isJoined(roomId: string, userId: string): boolean;
  displayName(roomId: string, userId: string): string | undefined;
}

export interface MessageRecorderDeps {
  memory: MemoryStore;
  members: RecorderMembership;
  personas: PersonaDirectory;
  /** The bot and the personas. */
  isOurUser(userId: string): boolean;
  /** Commands (to the bot or a persona) are not conversation. */
  isCommand(body: string): boolean;
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

  async handle(event: RoomEvent): Promise<void> {
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
    const ours = this.deps.isOurUser(event.sender);
    // Our notices (errors, command answers) are not conversation; the bot never converses.
    if (ours && (parsed.msgtype === 'm.notice' || !this.deps.personas.byUserId(event.sender))) return;
    if (this.deps.isCommand(parsed.body)) return;
    if (!(await this.roomHasPersona(event.room_id))) return;
    const displayName = this.deps.members.displayName(event.room_id, event.sender) ?? null;
    const inserted = await this.write(event.room_id, `remember ${event.event_id}`, () => memory.record(newMessageFromEvent(event, parsed, displayName, ours)));
    if (inserted) log.debug(`recorded ${event.event_id} in ${event.room_id}`);
  }

  private async write<T>(roomId: string, what: string, write: () => T): Promise<T | undefined> {
    const { commit } = this.deps;
    const run = commit ? () => commit(write) : write;
    return this.deps.writes ? this.deps.writes.write(roomId, what, run) : run();
  }

  private async roomHasPersona(roomId: string): Promise<boolean> {
    await this.deps.members.ensureLoaded(roomId).catch((err: unknown) => {
      log.debug(`members of ${roomId} not loaded: ${String(err)}`);
    });
    // Runs for every message: look the room's few members up among the personas, never the
    // other way round (list() copies and sorts every persona; 1,000 of them made this the
    // bridge's hottest line under load, see BENCHMARKS.md).
    return this.deps.members.joined(roomId).some((userId) => this.deps.personas.byUserId(userId) !== undefined);
  }
}
