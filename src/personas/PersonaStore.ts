import type BetterSqlite3 from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import type { Db } from '../store/Database.js';
import type { Persona, PersonaDirectory, VoiceReplies } from './Persona.js';
import { findByName } from '../util/nameFolding.js';

type Statement = BetterSqlite3.Statement<unknown[], unknown>;

export type PersonaStatus = 'provisioning' | 'active' | 'despawning';

/** A persona row in any state; only `active` ones are live (see migrations/002). */
export interface PersonaRecord extends Persona {
  status: PersonaStatus;
  /** Digest of the seed file definition last applied; null for personas spawned from chat. */
  sourceDigest: string | null;
}

/** Fields `!persona set` and seed-file updates may change. The user ID never changes. */
export type PersonaChanges = Partial<Pick<Persona, 'name' | 'prompt' | 'traits' | 'model' | 'temperature' | 'avatarUrl' | 'creator' | 'live' | 'tools' | 'voice' | 'voiceReplies'>> & {
  sourceDigest?: string | null;
};

export interface DeactivatedPersona {
  userId: string;
  name: string;
  deactivatedAt: number;
  deactivatedBy: string;
}

export interface ProfileRecord {
  displayname: string | null;
  avatarUrl: string | null;
}

interface PersonaRow {
  user_id: string;
  name: string;
  prompt: string;
  traits: string;
  model: string | null;
  temperature: number | null;
  avatar_url: string | null;
  created_at: number;
  creator: string;
  status: PersonaStatus;
  source_digest: string | null;
  live: number | null;
  tools: string | null;
  voice?: string | null;
  voice_replies?: string | null;
}

function parseTraits(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function parseTools(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

function fromRow(row: PersonaRow): PersonaRecord {
  return {
    userId: row.user_id,
    name: row.name,
    prompt: row.prompt,
    traits: parseTraits(row.traits),
    model: row.model,
    temperature: row.temperature,
    avatarUrl: row.avatar_url,
    createdAt: row.created_at,
    creator: row.creator,
    status: row.status,
    sourceDigest: row.source_digest,
    // Only when set: a persona following replies.live reads like one from before the column.
    ...(row.live === null ? {} : { live: row.live === 1 }),
    ...(row.tools === null ? {} : { tools: parseTools(row.tools) }),
    ...(row.voice ? { voice: row.voice } : {}),
    ...(row.voice_replies ? { voiceReplies: row.voice_replies as VoiceReplies } : {}),
  };
}

function toPersona(record: PersonaRecord): Persona {
  const { status: _status, sourceDigest: _digest, ...persona } = record;
  return persona;
}

/**
 * Case-insensitive name order. One shared collator: localeCompare with options builds a new
 * one per comparison, 20x slower (4.5 ms to sort 1,000 personas).
 */
const byName = new Intl.Collator(undefined, { sensitivity: 'base' });

/**
 * Personas in SQLite, with the live (active) ones cached in memory: the directory is consulted
 * for every pushed event, so lookups must not touch the disk. Every write goes to SQLite first
 * and then refreshes the cache from what was written.
 */
export class PersonaStore implements PersonaDirectory {
  private readonly live = new Map<string, Persona>();
  private readonly statements = new Map<string, Statement>();
  /**
   * joinedAtIn's answer per room, read for every message of a room with personas (its query was
   * 5% of the bridge's CPU under ingest after the other fixes, issue 28). Every write to
   * persona_rooms goes through this class and forgets the room's entry (a deleted persona's
   * rows, through the foreign key, forget them all); bounded for bridges with many rooms.
   */
  private readonly joinTimes = new LRUCache<string, ReadonlyMap<string, number>>({ max: 5_000 });

  constructor(private readonly database: Db) {
    for (const record of this.allRecords()) if (record.status === 'active') this.live.set(record.userId, toPersona(record));
  }

  /**
   * Statements are prepared once per SQL text. Preparing on every call (personasInRoom runs
   * for every room whose members are loaded) cost CPU and, at 10,000 rooms, ~40 MB of
   * native memory the allocator never gave back (see BENCHMARKS.md).
   */
  private stmt(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.database.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  // --- PersonaDirectory: live personas only -------------------------------------------------

  byUserId(userId: string): Persona | undefined {
    return this.live.get(userId);
  }

  list(): Persona[] {
    return [...this.live.values()].sort((a, b) => byName.compare(a.name, b.name));
  }

  /** The live persona a typed name means (case and accents aside: Zoe is Zoë); AmbiguousName when several. */
  byName(name: string): Persona | undefined {
    return findByName(name, this.live.values(), (p) => p.name);
  }

  // --- Records in any state -----------------------------------------------------------------

  allRecords(): PersonaRecord[] {
    const rows = this.stmt('SELECT * FROM personas ORDER BY name').all() as PersonaRow[];
    return rows.map(fromRow);
  }

  /**
   * The persona (any state) a typed name means: the exact name (the column compares ASCII
   * case-insensitively), else the one name that matches it without regard to case or accents
   * (util/nameFolding); AmbiguousName when several do.
   */
  recordByName(name: string): PersonaRecord | undefined {
    const row = this.stmt('SELECT * FROM personas WHERE name = ?').get(name) as PersonaRow | undefined;
    return row ? fromRow(row) : findByName(name, this.allRecords(), (r) => r.name);
  }

  recordByUserId(userId: string): PersonaRecord | undefined {
    const row = this.stmt('SELECT * FROM personas WHERE user_id = ?').get(userId) as PersonaRow | undefined;
    return row && fromRow(row);
  }

  /**
   * Writes a persona as `provisioning` before anything happens on the homeserver. An existing
   * provisioning row for the same user (an earlier spawn that failed part-way) is replaced by
   * the new definition; any other existing row is a conflict the caller must have ruled out.
   */
  reserve(persona: Persona, sourceDigest: string | null = null): PersonaRecord {
    const db = this.database;
    db.transaction(() => {
      const existing = this.recordByUserId(persona.userId);
      if (existing && existing.status !== 'provisioning') {
        throw new Error(`${persona.userId} is already ${existing.status}`);
      }
      // An upsert, not delete-and-insert: the rooms and profile already recorded for a
      // half-finished spawn stay true and must survive the retry.
      this.stmt(
        `INSERT INTO personas (user_id, name, prompt, traits, model, temperature, avatar_url, created_at, creator, status, source_digest)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'provisioning', ?)
         ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, prompt = excluded.prompt, traits = excluded.traits,
           model = excluded.model, temperature = excluded.temperature, avatar_url = excluded.avatar_url,
           created_at = excluded.created_at, creator = excluded.creator, source_digest = excluded.source_digest`,
      ).run(
        persona.userId,
        persona.name,
        persona.prompt,
        JSON.stringify(persona.traits),
        persona.model,
        persona.temperature,
        persona.avatarUrl,
        persona.createdAt,
        persona.creator,
        sourceDigest,
      );
    })();
    return this.refresh(persona.userId)!;
  }

  setStatus(userId: string, status: PersonaStatus): PersonaRecord {
    this.stmt('UPDATE personas SET status = ? WHERE user_id = ?').run(status, userId);
    const record = this.refresh(userId);
    if (!record) throw new Error(`no persona ${userId}`);
    return record;
  }

  update(userId: string, changes: PersonaChanges): PersonaRecord {
    const columns: Record<string, unknown> = {};
    if (changes.name !== undefined) columns.name = changes.name;
    if (changes.prompt !== undefined) columns.prompt = changes.prompt;
    if (changes.traits !== undefined) columns.traits = JSON.stringify(changes.traits);
    if (changes.model !== undefined) columns.model = changes.model;
    if (changes.temperature !== undefined) columns.temperature = changes.temperature;
    if (changes.avatarUrl !== undefined) columns.avatar_url = changes.avatarUrl;
    if (changes.creator !== undefined) columns.creator = changes.creator;
    if (changes.sourceDigest !== undefined) columns.source_digest = changes.sourceDigest;
    if (changes.live !== undefined) columns.live = changes.live === null ? null : changes.live ? 1 : 0;
    if (changes.tools !== undefined) columns.tools = changes.tools.length ? JSON.stringify(changes.tools) : null;
    if (changes.voice !== undefined) columns.voice = changes.voice;
    if (changes.voiceReplies !== undefined) columns.voice_replies = changes.voiceReplies;
    const names = Object.keys(columns);
    if (names.length > 0) {
      this.stmt(`UPDATE personas SET ${names.map((n) => `${n} = ?`).join(', ')} WHERE user_id = ?`).run(...Object.values(columns), userId);
    }
    const record = this.refresh(userId);
    if (!record) throw new Error(`no persona ${userId}`);
    return record;
  }

  /** Forgets a persona that never reached the homeserver (a rolled-back spawn). */
  remove(userId: string): void {
    this.stmt('DELETE FROM personas WHERE user_id = ?').run(userId);
    this.live.delete(userId);
    this.joinTimes.clear();
  }

  /** After the homeserver deactivated the user: drop the persona and remember the MXID is gone for good. */
  recordDeactivated(userId: string, by: string, now: number = Date.now()): void {
    const db = this.database;
    db.transaction(() => {
      const record = this.recordByUserId(userId);
      this.stmt(
        'INSERT OR REPLACE INTO deactivated_personas (user_id, name, deactivated_at, deactivated_by) VALUES (?, ?, ?, ?)',
      ).run(userId, record?.name ?? userId, now, by);
      this.stmt('DELETE FROM personas WHERE user_id = ?').run(userId);
    })();
    this.live.delete(userId);
    this.joinTimes.clear();
  }

  deactivated(userId: string): DeactivatedPersona | undefined {
    const row = this.stmt('SELECT user_id, name, deactivated_at, deactivated_by FROM deactivated_personas WHERE user_id = ?').get(userId) as { user_id: string; name: string; deactivated_at: number; deactivated_by: string } | undefined;
    return row && { userId: row.user_id, name: row.name, deactivatedAt: row.deactivated_at, deactivatedBy: row.deactivated_by };
  }

  // --- Rooms --------------------------------------------------------------------------------

  rooms(userId: string): string[] {
    const rows = this.stmt('SELECT room_id FROM persona_rooms WHERE user_id = ? ORDER BY joined_at').all(userId) as {
      room_id: string;
    }[];
    return rows.map((r) => r.room_id);
  }

  /**
   * When each persona recorded in the room joined it (ms), in one query: the dispatcher orders
   * the personas of a room by it for every message (one query per persona was 8% of the CPU
   * under ingest, see BENCHMARKS.md).
   */
  joinedAtIn(roomId: string): ReadonlyMap<string, number> {
    let joined = this.joinTimes.get(roomId);
    if (!joined) {
      const rows = this.stmt('SELECT user_id, joined_at FROM persona_rooms WHERE room_id = ?').all(roomId) as { user_id: string; joined_at: number }[];
      joined = new Map(rows.map((r) => [r.user_id, r.joined_at]));
      this.joinTimes.set(roomId, joined);
    }
    return joined;
  }

  /**
   * Each room with a live persona in it and when the first of them joined, in room order; only
   * `roomId` when given (`backfill`: memory starts there).
   */
  firstJoins(roomId?: string): { roomId: string; joinedAt: number }[] {
    const sql = `SELECT pr.room_id AS roomId, MIN(pr.joined_at) AS joinedAt FROM persona_rooms pr JOIN personas p ON p.user_id = pr.user_id
       WHERE p.status = 'active' ${roomId === undefined ? '' : 'AND pr.room_id = ?'} GROUP BY pr.room_id ORDER BY pr.room_id`;
    return this.stmt(sql).all(...(roomId === undefined ? [] : [roomId])) as { roomId: string; joinedAt: number }[];
  }

  roomCount(userId: string): number {
    return (this.stmt('SELECT COUNT(*) AS n FROM persona_rooms WHERE user_id = ?').get(userId) as { n: number }).n;
  }

  /**
   * Records a join at `joinedAt`; ignored for users that are not personas (their row may be
   * gone already). Told twice (the bridge's own time as it asked to join, then the join event's
   * origin_server_ts; or a profile change, a later "join"), the earliest stays: the persona sees
   * the room's messages from its join on, compared with their origin_server_ts, so the join must
   * not be dated later than the homeserver dated it (a message sent the moment the join was seen
   * was hidden from its prompt when the join was dated after the bridge's accept returned).
   */
  addRoom(userId: string, roomId: string, joinedAt: number = Date.now()): void {
    this.stmt(
      `INSERT INTO persona_rooms (user_id, room_id, joined_at)
       SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM personas WHERE user_id = ?)
       ON CONFLICT (user_id, room_id) DO UPDATE SET joined_at = MIN(joined_at, excluded.joined_at)`,
    ).run(userId, roomId, joinedAt, userId);
    this.joinTimes.delete(roomId);
  }

  removeRoom(userId: string, roomId: string): void {
    this.stmt('DELETE FROM persona_rooms WHERE user_id = ? AND room_id = ?').run(userId, roomId);
    this.joinTimes.delete(roomId);
  }

  /** Live personas recorded as joined to the room, earliest join first (then by user id). */
  personasInRoom(roomId: string): string[] {
    const rows = this.stmt('SELECT user_id FROM persona_rooms WHERE room_id = ? ORDER BY joined_at, user_id').all(roomId) as { user_id: string }[];
    return rows.map((r) => r.user_id).filter((id) => this.live.has(id));
  }

  /**
   * Forgets which definition each seed persona (from a file) was provisioned from, so the next
   * provisioning re-applies every file over changes made in chat (`reseed`).
   */
  forgetSeedDigests(): void {
    this.stmt("UPDATE personas SET source_digest = NULL WHERE creator LIKE 'file:%'").run();
  }

  // --- Profile and avatar caches -------------------------------------------------------------

  lastProfile(userId: string): ProfileRecord | undefined {
    const row = this.stmt('SELECT displayname, avatar_url FROM persona_profiles WHERE user_id = ?').get(userId) as
      | { displayname: string | null; avatar_url: string | null }
      | undefined;
    return row && { displayname: row.displayname, avatarUrl: row.avatar_url };
  }

  recordProfile(userId: string, profile: Partial<ProfileRecord>, now: number = Date.now()): void {
    const merged: ProfileRecord = { displayname: null, avatarUrl: null, ...this.lastProfile(userId), ...profile };
    this.stmt('INSERT OR REPLACE INTO persona_profiles (user_id, displayname, avatar_url, updated_at) VALUES (?, ?, ?, ?)').run(
      userId,
      merged.displayname,
      merged.avatarUrl,
      now,
    );
  }

  uploadedAvatar(source: string): string | undefined {
    const row = this.stmt('SELECT mxc FROM avatar_uploads WHERE source = ?').get(source) as { mxc: string } | undefined;
    return row?.mxc;
  }

  recordAvatarUpload(source: string, mxc: string, now: number = Date.now()): void {
    this.stmt('INSERT OR REPLACE INTO avatar_uploads (source, mxc, uploaded_at) VALUES (?, ?, ?)').run(source, mxc, now);
  }

  /** Re-reads one row into the live cache. */
  private refresh(userId: string): PersonaRecord | undefined {
    const record = this.recordByUserId(userId);
    if (record?.status === 'active') this.live.set(userId, toPersona(record));
    else this.live.delete(userId);
    return record;
  }
}
