import { performance } from 'node:perf_hooks';
import { MemoryStore } from '../src/memory/MemoryStore.js';
import { MessageIndex } from '../src/memory/MessageIndex.js';
import { PersonaStore } from '../src/personas/PersonaStore.js';
import { openDatabase } from '../src/store/Database.js';
import type { Plantings } from './needles.js';
import { chatText, prng, type BenchRoom, type World } from './world.js';

export interface SeedResult {
  personas: number;
  personaRooms: number;
  messages: number;
  chapters: number;
  seconds: number;
}

/** The system prompt every seeded persona has. */
export function benchPersonaPrompt(name: string): string {
  return `You are ${name}, a friendly and curious conversation partner. Keep answers short and warm.`;
}

export const BENCH_PERSONA_TRAITS = { openness: 0.7, humour: 'dry' };

/** Messages of a DM left unsummarised, as the Summarizer leaves them (half its threshold). */
export const UNSUMMARISED_TAIL = 30;
/** Messages per seeded chapter. */
const CHAPTER_SIZE = 30;

/**
 * Writes the world into a fresh database through the bridge's own stores (PersonaStore,
 * MemoryStore), each part in one transaction: live personas with their profiles and rooms,
 * the message history and, for the DMs, the chapter summaries the Summarizer would have
 * written by now (so a reply there sees the steady state: chapters plus a short tail), and the
 * recall benchmark's planted messages at their places.
 *
 * Messages are written in time order across rooms, round robin, so a room's history is
 * scattered through the table as it is in production, not stored contiguously.
 */
export function seedDatabase(path: string, world: World, seed = 1, plantings: Plantings = new Map()): SeedResult {
  const started = performance.now();
  const db = openDatabase(path);
  try {
    const personas = new PersonaStore(db);
    let personaRooms = 0;
    const createdAt = Date.now() - 90 * 24 * 3600_000;
    db.transaction(() => {
      for (const p of world.personas) {
        personas.reserve({
          userId: p.userId,
          name: p.name,
          prompt: benchPersonaPrompt(p.name),
          traits: BENCH_PERSONA_TRAITS,
          model: null,
          temperature: null,
          avatarUrl: null,
          createdAt,
          creator: '@admin:bench',
        });
        personas.setStatus(p.userId, 'active');
        personas.recordProfile(p.userId, { displayname: p.name }, createdAt);
      }
      for (const room of world.rooms) {
        for (const userId of room.personas) {
          personas.addRoom(userId, room.roomId, createdAt);
          personaRooms++;
        }
      }
    })();

    const memory = new MemoryStore(db);
    const random = prng(seed);
    const total = world.rooms.reduce((n, r) => n + r.seededMessages, 0);
    const firstTs = Date.now() - 30 * 24 * 3600_000;
    const step = (29 * 24 * 3600_000) / Math.max(1, total);
    let written = 0;
    db.transaction(() => {
      const remaining = new Map<BenchRoom, number>(world.rooms.map((r) => [r, r.seededMessages]));
      let active = world.rooms.filter((r) => r.seededMessages > 0);
      while (active.length > 0) {
        for (const room of active) {
          const left = remaining.get(room)!;
          const members = world.members(room);
          // The recall benchmark's facts and distractors, said by the room's person.
          const planted = plantings.get(room.roomId)?.get(room.seededMessages - left);
          // DMs alternate person and persona; groups pick anyone.
          const sender =
            planted !== undefined ? room.humans[0]! : room.kind === 'dm' || room.kind === 'deep' ? members[left % 2]! : members[Math.floor(random() * members.length)]!;
          memory.record({
            roomId: room.roomId,
            eventId: `$seed${written}`,
            sender,
            displayName: world.displayName(sender) ?? null,
            msgtype: 'm.text',
            body: planted ?? chatText(random),
            ts: Math.round(firstTs + written * step),
            threadRoot: null,
            fromPersona: world.isPersona(sender),
          });
          written++;
          remaining.set(room, left - 1);
        }
        active = active.filter((r) => remaining.get(r)! > 0);
      }
    })();

    let chapters = 0;
    const idsOf = db.prepare("SELECT id FROM memory_messages WHERE room_id = ? AND thread_root = '' ORDER BY id");
    db.transaction(() => {
      for (const room of [...world.dmRooms, ...world.recallRooms]) {
        const ids = (idsOf.all(room.roomId) as { id: number }[]).map((r) => r.id);
        const summarised = ids.slice(0, Math.max(0, ids.length - UNSUMMARISED_TAIL));
        const scope = { personaId: room.personas[0]!, roomId: room.roomId, threadRoot: null };
        for (let i = 0; i < summarised.length; i += CHAPTER_SIZE) {
          const part = summarised.slice(i, i + CHAPTER_SIZE);
          const summary = `${chatText(random, 40, 70)} ${chatText(random, 20, 40)}`;
          if (memory.addChapter(scope, { firstMessageId: part[0]!, lastMessageId: part.at(-1)!, messageCount: part.length, summary })) chapters++;
        }
      }
    })();
    // Indexed for search as a running bridge would have done in batches meanwhile.
    new MessageIndex(db).flush();
    // Fold the write-ahead log into the database, as a long-running bridge's checkpoints would have.
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { personas: world.personas.length, personaRooms, messages: written, chapters, seconds: (performance.now() - started) / 1000 };
  } finally {
    db.close();
  }
}
