/**
 * What personas do with media, for the responder (reply/PersonaResponder's `media` hook):
 * before a prompt, the answered message's image, file or voice message is read (and recent
 * images nobody asked about yet, so "what was in that photo?" works); its transcript, text or
 * a vision model's description is written into memory once; the prompt shows the newest images
 * as pixels. After it, an answer may go out as a voice message. What cannot be taken in is
 * said: a bad file each time, a failing service once per room until it works again, a missing
 * sense once per room.
 */
import type { ReplyRequest } from '../dispatch/Responder.js';
import type { CompletionRequest, Completion } from '../llm/LlmClient.js';
import type { PromptImage } from '../llm/PromptBuilder.js';
import { getLogger } from '../logging.js';
import type { MemoryScope, MemoryStore, StoredMessage } from '../memory/MemoryStore.js';
import type { Persona } from '../personas/Persona.js';
import { RoomQueue } from '../pipeline/RoomQueue.js';
import { FaultEpisodes } from '../util/FaultEpisodes.js';
import { imageTokens } from './imagePrep.js';
import { MediaError } from './MediaError.js';
import type { MediaReader, Reading } from './MediaReader.js';
import { mediaRefOf, type MediaRef } from './mediaRef.js';
import type { MediaStore } from './MediaStore.js';
import { describedImage, fileText, mediaPlaceholder, transcribed, unreadable } from './mediaText.js';
import { CANNOT_LISTEN, CANNOT_SEE, cannotOpen, SENSE_NOTE_NO_HEARING, SENSE_NOTE_NO_VISION, serviceDown } from './messages.js';
import type { SpokenAnswer, VoiceReplies } from './VoiceReplies.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('PersonaMedia');

/** What reading the answered message's media came to. */
export interface MediaOutcome {
  /** To tell the room (as the persona, replying to the message), or null. */
  notice: string | null;
  /** False: the notice is the answer; the model is not asked. */
  answer: boolean;
}

export interface PersonaMediaDeps {
  reader: MediaReader;
  images: MediaStore;
  memory: Pick<MemoryStore, 'byEventId' | 'applyEdit' | 'recent'>;
  /** Whether the model a persona's `model` setting routes to can see. */
  canSee(model: string | null): boolean;
  /** Asks the persona's model to describe an image once (for when its pixels leave the prompt). */
  llm: { complete(request: CompletionRequest): Promise<Completion> };
  /** media.images_in_prompt */
  imagesInPrompt: number;
  voice?: VoiceReplies;
}

/** Messages looked through for images nobody asked about yet. */
const RECENT_IMAGE_SCAN = 20;
const DESCRIBE_PROMPT =
  'Describe this image for someone who cannot see it, in one or two sentences: what it shows, its colours, and any text in it. No preamble.';

export class PersonaMedia {
  /** Services failing (downloads, speech), per room: told once per episode. */
  private readonly faults = new FaultEpisodes();
  /** Senses a persona lacks, told once per room and persona. */
  private readonly toldMissing = new Set<string>();
  /** Descriptions are written in the background, one room at a time. */
  private readonly describing = new RoomQueue();
  /** Attempts at describing each image (given up on for this process after two failures), and those under way. */
  private readonly describeTries = new Map<string, number>();
  private readonly describingNow = new Set<string>();

  constructor(private readonly deps: PersonaMediaDeps) {}

  /** Reads the answered message's media (and recent unread images) into memory. */
  async prepare(request: ReplyRequest, scope: MemoryScope, answered: StoredMessage | null): Promise<MediaOutcome> {
    const { persona, event } = request;
    const sees = this.deps.canSee(persona.model);
    if (sees) await this.readRecentImages(persona, scope, answered?.id);
    const ref = answered?.media ? parseRef(answered.media) : request.scene ? null : mediaRefOf(event);
    if (!ref) return { notice: null, answer: true };
    if (ref.kind === 'image' && !sees) return { notice: this.missing(event.room_id, persona, 'see', CANNOT_SEE), answer: true };
    if (ref.kind === 'audio' && !this.deps.reader.canTranscribe) return { notice: this.missing(event.room_id, persona, 'hear', CANNOT_LISTEN), answer: true };
    if (answered && this.alreadyRead(answered, ref)) return { notice: null, answer: true };
    try {
      const reading = await this.deps.reader.read(ref);
      this.faults.recovered(event.room_id);
      if (reading.kind === 'image' && !sees) return { notice: this.missing(event.room_id, persona, 'see', CANNOT_SEE), answer: true };
      this.keep(persona, event.room_id, event.event_id, event.sender, ref, reading);
      return { notice: null, answer: true };
    } catch (err) {
      if (!(err instanceof MediaError)) throw err;
      log.warn(`${persona.name} cannot read ${ref.kind} ${event.event_id} in ${event.room_id}: ${err.code}: ${err.message}`);
      if (err.transient) return { notice: this.faults.fault(event.room_id) ? serviceDown(ref, err) : null, answer: false };
      this.deps.memory.applyEdit(event.event_id, event.sender, unreadable(ref, err.message));
      return { notice: cannotOpen(ref, err), answer: false };
    }
  }

  /** Pixels for the newest `images_in_prompt` images among the history, by message id. */
  imagesFor(persona: Persona, history: readonly StoredMessage[]): Map<number, PromptImage> {
    const shown = new Map<number, PromptImage>();
    if (!this.deps.canSee(persona.model)) return shown;
    for (let i = history.length - 1; i >= 0 && shown.size < this.deps.imagesInPrompt; i--) {
      const message = history[i]!;
      if (!message.media) continue;
      const image = this.deps.images.get(message.eventId);
      if (image) shown.set(message.id, { url: `data:${image.mime};base64,${image.data.toString('base64')}`, tokens: imageTokens(image.width, image.height) });
    }
    return shown;
  }

  /** What the persona is told it cannot perceive, when the history has images or voice it cannot take in. */
  senseNotes(persona: Persona, history: readonly StoredMessage[]): string[] {
    const kinds = new Set(history.map((m) => (m.media ? parseRef(m.media)?.kind : undefined)));
    const notes: string[] = [];
    if (kinds.has('image') && !this.deps.canSee(persona.model)) notes.push(SENSE_NOTE_NO_VISION);
    if (kinds.has('audio') && !this.deps.reader.canTranscribe) notes.push(SENSE_NOTE_NO_HEARING);
    return notes;
  }

  /** Whether this answer is spoken (decided before the model is asked: a spoken answer is not streamed). */
  speaksTo(request: ReplyRequest, answered: StoredMessage | null): boolean {
    return this.deps.voice?.speaksTo(request.persona, isVoice(answered, request)) ?? false;
  }

  /** The answer as a voice message (VoiceReplies), or content null to write it. */
  async speak(request: ReplyRequest, text: string, textContent: Record<string, unknown>): Promise<SpokenAnswer> {
    const voice = this.deps.voice;
    if (!voice) return { content: null, notice: null };
    try {
      return await voice.speak(request.persona, request.event.room_id, text, textContent);
    } catch (err) {
      // Uploading failed (the homeserver): the answer is not lost, it is written instead.
      log.error(`${request.persona.name} could not send its spoken answer in ${request.event.room_id}; writing it`, { error: err });
      return { content: null, notice: null };
    }
  }

  /** Background descriptions still being written (for a clean shutdown). */
  get busy(): boolean {
    return this.describing.activeRooms > 0;
  }

  idle(): Promise<void> {
    return this.describing.idle();
  }

  /** The room's first image for a persona that cannot see (or voice without speech-to-text): said once. */
  private missing(roomId: string, persona: Persona, sense: 'see' | 'hear', notice: string): string | null {
    const key = `${roomId}|${persona.userId}|${sense}`;
    if (this.toldMissing.has(key)) return null;
    this.toldMissing.add(key);
    return notice;
  }

  /** Read before (a regenerated answer, several personas answering one message): not again. */
  private alreadyRead(message: StoredMessage, ref: MediaRef): boolean {
    if (ref.kind === 'image' && this.deps.images.get(message.eventId)) return true;
    return ref.kind !== 'image' && !isPlaceholder(message.body, ref);
  }

  private keep(persona: Persona, roomId: string, eventId: string, sender: string, ref: MediaRef, reading: Reading): void {
    const { memory } = this.deps;
    if (reading.kind === 'image') {
      this.deps.images.put(roomId, eventId, reading.image);
      this.scheduleDescription(persona, roomId, eventId, sender, ref);
    } else if (reading.kind === 'text') {
      memory.applyEdit(eventId, sender, fileText(ref, reading.text, reading.cut, reading.pages));
    } else {
      memory.applyEdit(eventId, sender, transcribed(ref, reading.text));
    }
  }

  /** A description written in the background; tried again when the image is seen again, twice at most. */
  private scheduleDescription(persona: Persona, roomId: string, eventId: string, sender: string, ref: MediaRef): void {
    const tries = this.describeTries.get(eventId) ?? 0;
    if (tries >= 2 || this.describingNow.has(eventId)) return;
    this.describeTries.set(eventId, tries + 1);
    this.describingNow.add(eventId);
    void this.describing
      .run(roomId, () => this.describe(persona, roomId, eventId, sender, ref))
      .then(() => this.describeTries.delete(eventId))
      .catch((err: unknown) => log.warn(`describing image ${eventId} in ${roomId} failed: ${describeError(err)}`))
      .finally(() => this.describingNow.delete(eventId));
  }

  /**
   * Images of the recent conversation not read yet (sent without asking anyone) are read
   * quietly; those read but not described yet (a description that failed) get described.
   */
  private async readRecentImages(persona: Persona, scope: MemoryScope, throughId: number | undefined): Promise<void> {
    if (this.deps.imagesInPrompt === 0) return;
    const recent = this.deps.memory.recent(scope, RECENT_IMAGE_SCAN, throughId === undefined ? undefined : throughId - 1);
    const images = recent
      .map((message) => ({ message, ref: message.media ? parseRef(message.media) : null }))
      .filter((x): x is { message: StoredMessage; ref: MediaRef } => x.ref?.kind === 'image' && isPlaceholder(x.message.body, x.ref));
    for (const { message, ref } of images) {
      if (this.deps.images.get(message.eventId)) this.scheduleDescription(persona, message.roomId, message.eventId, message.sender, ref);
    }
    const unread = images.filter(({ message }) => !this.deps.images.get(message.eventId)).slice(-this.deps.imagesInPrompt);
    for (const { message, ref } of unread) {
      try {
        const reading = await this.deps.reader.read(ref);
        if (reading.kind === 'image') this.keep(persona, message.roomId, message.eventId, message.sender, ref, reading);
      } catch (err) {
        if (!(err instanceof MediaError)) throw err;
        log.info(`earlier image ${message.eventId} in ${message.roomId} not read: ${err.code}: ${err.message}`);
        if (!err.transient) this.deps.memory.applyEdit(message.eventId, message.sender, unreadable(ref, err.message));
      }
    }
  }

  /** The vision model's short description, kept in the message's body for when its pixels leave the prompt. */
  private async describe(persona: Persona, roomId: string, eventId: string, sender: string, ref: MediaRef): Promise<void> {
    const image = this.deps.images.get(eventId);
    const message = this.deps.memory.byEventId(eventId);
    if (!image || !message || !isPlaceholder(message.body, ref)) return;
    const url = `data:${image.mime};base64,${image.data.toString('base64')}`;
    const completion = await this.deps.llm.complete({
      messages: [
        { role: 'system', content: DESCRIBE_PROMPT },
        { role: 'user', content: 'Describe this image.', images: [{ url, tokens: imageTokens(image.width, image.height), at: 0 }] },
      ],
      model: persona.model,
      maxTokens: 150,
      queueKey: roomId,
      priority: 'background',
      label: `describing an image for ${persona.name} in ${roomId}`,
    });
    const sticker = message.body === mediaPlaceholder(ref, true);
    this.deps.memory.applyEdit(eventId, sender, describedImage(ref, completion.text, sticker));
  }
}

/** The body still says only what the message is (not read, described or transcribed yet). */
function isPlaceholder(body: string, ref: MediaRef): boolean {
  return body === mediaPlaceholder(ref) || body === mediaPlaceholder(ref, true);
}

function parseRef(json: string): MediaRef | null {
  try {
    return JSON.parse(json) as MediaRef;
  } catch {
    return null;
  }
}

/** Whether the answered message is a voice message (or any audio). */
function isVoice(answered: StoredMessage | null, request: ReplyRequest): boolean {
  const ref = answered?.media ? parseRef(answered.media) : mediaRefOf(request.event);
  return ref?.kind === 'audio';
}
