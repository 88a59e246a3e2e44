import type { BridgeConfig } from '../src/config/Config.js';
import { personaUserId } from '../src/personas/personaName.js';

/** How big the simulated deployment is. */
export interface WorldSize {
  personas: number;
  /** Rooms the bridge knows (members loaded) before the timed runs. */
  rooms: number;
  /** Group rooms (2 people + personasPerGroup personas) the ingest run writes to. */
  ingestRooms: number;
  /** DMs (1 person + 1 persona) the dispatch run writes to. */
  dmRooms: number;
  personasPerGroup: number;
  /** Messages in the memory database before the runs. */
  messages: number;
  /** Messages in each ingest and DM room; the rest are spread over the other rooms. */
  busyRoomMessages: number;
  /** Deep DMs (1 person + 1 persona) holding the recall benchmark's needles, and their messages each. */
  recallRooms: number;
  recallRoomMessages: number;
}

export type RoomKind = 'group' | 'dm' | 'deep' | 'other';

export interface BenchRoom {
  roomId: string;
  kind: RoomKind;
  humans: string[];
  personas: string[];
  /** Messages stored in this room before the runs. */
  seededMessages: number;
}

export interface BenchPersona {
  name: string;
  userId: string;
}

/**
 * The simulated deployment, deterministic for a given size: who the personas are, which
 * rooms exist and who is in them. The seeded database and the fake homeserver's answers
 * (joined members) are both derived from it, so they agree.
 */
export class World {
  readonly domain: string;
  readonly personas: BenchPersona[] = [];
  readonly rooms: BenchRoom[] = [];
  readonly ingestRooms: BenchRoom[];
  readonly dmRooms: BenchRoom[];
  readonly recallRooms: BenchRoom[];
  private readonly byRoomId = new Map<string, BenchRoom>();
  private readonly names = new Map<string, string>();
  private readonly personaIds = new Set<string>();

  constructor(
    config: Pick<BridgeConfig, 'homeserver' | 'appservice'>,
    readonly size: WorldSize,
  ) {
    if (size.ingestRooms + size.dmRooms + size.recallRooms > size.rooms) throw new Error('ingest, DM and recall rooms must fit within the rooms');
    if (size.personas < size.personasPerGroup) throw new Error('not enough personas for a group room');
    this.domain = config.homeserver.domain;
    const width = String(size.personas).length;
    for (let i = 0; i < size.personas; i++) {
      const name = `Bench${String(i + 1).padStart(width, '0')}`;
      const userId = personaUserId(name, config);
      this.personas.push({ name, userId });
      this.personaIds.add(userId);
      this.names.set(userId, name);
    }
    const busy = Math.min(size.messages, size.busyRoomMessages * (size.ingestRooms + size.dmRooms));
    const perBusyRoom = Math.floor(busy / Math.max(1, size.ingestRooms + size.dmRooms));
    const others = size.rooms - size.ingestRooms - size.dmRooms - size.recallRooms;
    const otherTotal = size.messages - perBusyRoom * (size.ingestRooms + size.dmRooms) - size.recallRooms * size.recallRoomMessages;
    if (otherTotal < 0) throw new Error('the busy and recall rooms hold more than the messages');
    let next = 0;
    const persona = (): string => this.personas[next++ % size.personas]!.userId;
    for (let i = 0; i < size.ingestRooms; i++) {
      const personas = Array.from({ length: size.personasPerGroup }, persona);
      this.add({ roomId: this.roomId(`group${i}`), kind: 'group', humans: [this.human(`g${i}a`), this.human(`g${i}b`)], personas, seededMessages: perBusyRoom });
    }
    for (let i = 0; i < size.dmRooms; i++) {
      this.add({ roomId: this.roomId(`dm${i}`), kind: 'dm', humans: [this.human(`dm${i}`)], personas: [persona()], seededMessages: perBusyRoom });
    }
    for (let i = 0; i < size.recallRooms; i++) {
      this.add({ roomId: this.roomId(`deep${i}`), kind: 'deep', humans: [this.human(`deep${i}`)], personas: [persona()], seededMessages: size.recallRoomMessages });
    }
    for (let i = 0; i < others; i++) {
      // Two personas and one person: a small group, so nothing there answers unless addressed.
      const seeded = Math.floor(otherTotal / others) + (i < otherTotal % others ? 1 : 0);
      this.add({ roomId: this.roomId(`room${i}`), kind: 'other', humans: [this.human(`u${i % 5000}`)], personas: [persona(), persona()], seededMessages: seeded });
    }
    this.ingestRooms = this.rooms.filter((r) => r.kind === 'group');
    this.dmRooms = this.rooms.filter((r) => r.kind === 'dm');
    this.recallRooms = this.rooms.filter((r) => r.kind === 'deep');
  }

  private roomId(local: string): string {
    return `!${local}:${this.domain}`;
  }

  private human(local: string): string {
    const userId = `@${local}:${this.domain}`;
    this.names.set(userId, `Person ${local}`);
    return userId;
  }

  private add(room: BenchRoom): void {
    this.rooms.push(room);
    this.byRoomId.set(room.roomId, room);
  }

  room(roomId: string): BenchRoom | undefined {
    return this.byRoomId.get(roomId);
  }

  /** Everyone joined to the room: its people and its personas. */
  members(room: BenchRoom): string[] {
    return [...room.humans, ...room.personas];
  }

  displayName(userId: string): string | undefined {
    return this.names.get(userId);
  }

  isPersona(userId: string): boolean {
    return this.personaIds.has(userId);
  }
}

/** A small fast deterministic PRNG (mulberry32): the same seed gives the same texts. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the a to and of in is it you that for on was with he as have be at one this are or had by but not what all were we when ' +
  'your can said there use an each which she do how their if will up other about out many then them these so some her ' +
  'would make like him into time has look two more write go see number no way could people my than first water been call ' +
  'who oil its now find long down day did get come made may part coffee weather tomorrow meeting idea plan music garden book'
).split(' ');

/** Chat-like text of `min`..`max` words, never containing a persona name (no accidental mentions). */
export function chatText(random: () => number, min = 6, max = 30): string {
  const count = min + Math.floor(random() * (max - min + 1));
  const words: string[] = [];
  for (let i = 0; i < count; i++) words.push(WORDS[Math.floor(random() * WORDS.length)]!);
  const text = words.join(' ');
  return `${text[0]!.toUpperCase()}${text.slice(1)}.`;
}
