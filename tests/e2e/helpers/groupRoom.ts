import type { BridgeConfig } from '../../../src/config/Config.js';
import { FakeOpenAI, type FakeResponder } from '../../fakes/FakeOpenAI.js';
import { startTestBridge, type DeepPartial, type TestBridge } from './bridge.js';
import { seedTaggedPersonas } from './taggedPersonas.js';
import { newUser, type TestUser } from './user.js';

/** A group room for turn-taking tests: two people, the bot and tagged personas. */
export interface GroupRoom {
  llm: FakeOpenAI;
  tb: TestBridge;
  /** The room's creator (power 100: its moderator). */
  alice: TestUser;
  /** A second person, no moderator. */
  bob: TestUser;
  roomId: string;
}

/**
 * Starts a fake model answering with `respond`, a bridge with the tagged personas `names`
 * (seedTaggedPersonas), and a room Alice creates with Bob and the bot. The personas are invited
 * one at a time in the order given, so that is the room's roster (join) order. The bot gets
 * power 50 so it may store the room's settings in room state.
 */
export async function startGroupRoom(opts: {
  tag: string;
  names: readonly string[];
  respond: FakeResponder;
  config?: DeepPartial<BridgeConfig>;
}): Promise<GroupRoom> {
  const llm = (await FakeOpenAI.start()).respondWith(opts.respond);
  const personasDir = seedTaggedPersonas(opts.tag, opts.names);
  const tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir, ...(opts.config ? { config: opts.config } : {}) });
  const [alice, bob] = [await newUser(), await newUser()];
  const roomId = await alice.createRoom({ invite: [tb.botUserId, bob.userId], name: opts.tag });
  for (const userId of [tb.botUserId, bob.userId]) await alice.waitForMembership(roomId, userId, 'join');
  for (const name of opts.names) {
    await alice.client.invite(roomId, tb.personaUserId(name));
    await alice.waitForMembership(roomId, tb.personaUserId(name), 'join');
  }
  await alice.client.setPowerLevel(roomId, tb.botUserId, 50);
  return { llm, tb, alice, bob, roomId };
}

/** Stops what startGroupRoom started (whatever of it did start). */
export async function stopGroupRoom(room: Partial<GroupRoom>): Promise<void> {
  room.alice?.stop();
  room.bob?.stop();
  await room.tb?.stop();
  await room.llm?.stop();
}
