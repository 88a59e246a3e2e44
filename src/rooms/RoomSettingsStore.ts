/**
 * Each room's persona settings and power levels, read from room state: loaded once per room
 * (GET state, as one of our users in the room) when the room is first used, and kept current
 * from the state events the homeserver pushes (RoomSettingsStep). Invalid settings are
 * ignored (the room behaves as if it had none) and reported once in the room.
 */
import { getLogger } from '../logging.js';
import { matrixErrcode } from '../matrix/errors.js';
import type { Persona } from '../personas/Persona.js';
import { isMuted, maySendMessages, parseRoomSettings, ROOM_SETTINGS_EVENT, type RoomSettings } from './roomSettings.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('RoomSettings');

/** The room-state calls it needs (MatrixGateway). */
export interface RoomStateAccess {
  getState(asUser: string, roomId: string, type: string, stateKey: string): Promise<Record<string, unknown> | null>;
  putState(asUser: string, roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<string>;
}

export interface RoomSettingsStoreDeps {
  state: RoomStateAccess;
  /** Our users in the room that can read and write its state, best first (bot, personas). */
  ourUsersIn(roomId: string): Promise<string[]>;
  /** Says something in the room (the one report of invalid settings). */
  report(roomId: string, text: string): Promise<void>;
  /** Rooms kept at most (least recently loaded forgotten first, loaded again when used). */
  maxRooms?: number;
}

interface Entry {
  settings: RoomSettings;
  powerLevels: Record<string, unknown> | null;
}

export class RoomSettingsStore {
  private readonly rooms = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<void>>();
  /** Invalid settings events already reported (one report per event). */
  private readonly reported = new Set<string>();
  private readonly maxRooms: number;

  constructor(private readonly deps: RoomSettingsStoreDeps) {
    this.maxRooms = deps.maxRooms ?? 5000;
  }

  /** The room's settings as last seen; empty when none or not loaded yet. */
  get(roomId: string): RoomSettings {
    return this.rooms.get(roomId)?.settings ?? {};
  }

  /** The room's m.room.power_levels content, when known. */
  powerLevels(roomId: string): Record<string, unknown> | null {
    return this.rooms.get(roomId)?.powerLevels ?? null;
  }

  /**
   * Why a persona stays silent in the room whatever it is asked (muted there, or the room's
   * power levels do not let it send), or null when it may speak.
   */
  silencedIn(roomId: string, persona: Pick<Persona, 'name' | 'userId'>): string | null {
    if (isMuted(this.get(roomId), persona.name)) return 'muted';
    return maySendMessages(this.powerLevels(roomId), persona.userId) ? null : 'its power level does not allow sending messages';
  }

  isLoaded(roomId: string): boolean {
    return this.rooms.has(roomId);
  }

  /** Reads the room's settings and power levels from the homeserver once (concurrent callers share it). */
  ensureLoaded(roomId: string): Promise<void> {
    if (this.rooms.has(roomId)) return Promise.resolve();
    let pending = this.loading.get(roomId);
    if (!pending) {
      pending = this.load(roomId).finally(() => this.loading.delete(roomId));
      this.loading.set(roomId, pending);
    }
    return pending;
  }

  /** A settings state event arrived (pushed, or read at load): validate, keep or report. */
  async applySettingsEvent(roomId: string, eventId: string | null, content: Record<string, unknown>): Promise<void> {
    const parsed = parseRoomSettings(content);
    const entry = this.entry(roomId);
    if (parsed.ok) {
      entry.settings = parsed.settings;
      return;
    }
    // Ignored as a whole: half-applied settings would surprise more than none.
    entry.settings = {};
    const key = eventId ?? `${roomId}:${JSON.stringify(content)}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    log.warn(`invalid ${ROOM_SETTINGS_EVENT} in ${roomId}: ${parsed.problems.join('; ')}`);
    await this.deps
      .report(roomId, `The persona settings of this room (${ROOM_SETTINGS_EVENT}) are invalid and ignored: ${parsed.problems.join('; ')}.`)
      .catch((err: unknown) => log.warn(`cannot report invalid settings in ${roomId}`, { error: err }));
  }

  applyPowerLevels(roomId: string, content: Record<string, unknown>): void {
    this.entry(roomId).powerLevels = content;
  }

  /** Writes new settings to room state, as the first of our users allowed to; throws when none may. */
  async save(roomId: string, settings: RoomSettings): Promise<void> {
    let lastError: unknown = new Error(`none of our users is in ${roomId}`);
    for (const userId of await this.deps.ourUsersIn(roomId)) {
      try {
        await this.deps.state.putState(userId, roomId, ROOM_SETTINGS_EVENT, '', settings as Record<string, unknown>);
        this.entry(roomId).settings = settings;
        return;
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }

  private async load(roomId: string): Promise<void> {
    for (const userId of await this.deps.ourUsersIn(roomId)) {
      try {
        const [settings, powerLevels] = await Promise.all([
          this.readState(userId, roomId, ROOM_SETTINGS_EVENT),
          this.readState(userId, roomId, 'm.room.power_levels'),
        ]);
        this.entry(roomId).powerLevels = powerLevels;
        if (settings) await this.applySettingsEvent(roomId, null, settings);
        return;
      } catch (err) {
        log.debug(`cannot read the state of ${roomId} as ${userId}: ${describeError(err)}`);
      }
    }
  }

  private async readState(userId: string, roomId: string, type: string): Promise<Record<string, unknown> | null> {
    try {
      return await this.deps.state.getState(userId, roomId, type, '');
    } catch (err) {
      if (matrixErrcode(err) === 'M_NOT_FOUND') return null;
      throw err;
    }
  }

  private entry(roomId: string): Entry {
    let entry = this.rooms.get(roomId);
    if (!entry) {
      entry = { settings: {}, powerLevels: null };
      this.rooms.set(roomId, entry);
      if (this.rooms.size > this.maxRooms) this.rooms.delete(this.rooms.keys().next().value as string);
    }
    return entry;
  }
}
