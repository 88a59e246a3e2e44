/**
 * Who speaks for the bridge in a room: notices (rate limits, loops, invalid settings, a full
 * disk, unreadable messages), command answers and scene messages all come from one of our
 * users, chosen here by one rule so a room hears the bridge with one voice.
 *
 * THE RULE, in order:
 *  1. the bridge bot, when it is joined to the room: it is the bridge's own voice, and rooms
 *     give it the power to set state and run the bridge's commands;
 *  2. else the persona the caller names (`prefer`: one it knows is in the room, e.g. the one that
 *     would have answered);
 *  3. else the persona that joined the room first (earliest join, then user id);
 *  4. else nobody: none of our users is in the room, and there is no one to speak.
 */

/** Whom the bridge speaks as in a room. */
export interface Voice {
  userId: string;
  /** The bridge bot (true) or a persona (false): bot-scope commands need to know. */
  isBot: boolean;
}

export interface RoomVoiceDeps {
  botUserId: string;
  /** The member cache (RoomMembers): whether the bot is joined. */
  members: { ensureLoaded(roomId: string): Promise<void>; isJoined(roomId: string, userId: string): boolean };
  /** The personas recorded as joined to the room, earliest join first (PersonaStore). */
  personasIn(roomId: string): string[];
  /** Sends an m.notice as one of our users (MatrixGateway.sendNotice). */
  sendNotice(userId: string, roomId: string, text: string, html?: string): Promise<unknown>;
}

export class RoomVoice {
  constructor(private readonly deps: RoomVoiceDeps) {}

  /** Whether the bridge bot is joined to the room (members loaded first; unknown counts as not). */
  async botIsIn(roomId: string): Promise<boolean> {
    await this.deps.members.ensureLoaded(roomId).catch(() => undefined);
    return this.deps.members.isJoined(roomId, this.deps.botUserId);
  }

  /** Who speaks for the bridge in the room, by the rule above; null when none of our users is there. */
  async voiceFor(roomId: string, prefer?: string | undefined): Promise<Voice | null> {
    if (await this.botIsIn(roomId)) return { userId: this.deps.botUserId, isBot: true };
    const persona = prefer ?? this.deps.personasIn(roomId)[0];
    return persona === undefined ? null : { userId: persona, isBot: false };
  }

  /** Every one of our users in the room, in the rule's order: the bot (if joined), then the personas by join. */
  async ourUsersIn(roomId: string): Promise<string[]> {
    const personas = this.deps.personasIn(roomId);
    return (await this.botIsIn(roomId)) ? [this.deps.botUserId, ...personas] : personas;
  }

  /**
   * Says `text` as an m.notice in the room's voice. Returns who spoke, or null when nobody of
   * ours is in the room (nothing sent). A failed send is thrown: the caller decides whether to
   * try again (a once-per-room notice releases its claim) or to log it.
   */
  async notice(roomId: string, text: string, opts: { html?: string | undefined; prefer?: string | undefined } = {}): Promise<string | null> {
    const voice = await this.voiceFor(roomId, opts.prefer);
    if (!voice) return null;
    await this.deps.sendNotice(voice.userId, roomId, text, opts.html);
    return voice.userId;
  }
}
