import type { RoomEvent } from '../matrix/events.js';
import { RoomMembers } from '../matrix/RoomMembers.js';
import { DedupeStep } from './DedupeStep.js';
import { EventPipeline } from './EventPipeline.js';
import type { EventStep } from './EventStep.js';
import { RoomMembershipStep } from './RoomMembershipStep.js';
import { inboundEvents } from '../../tests/support/inbound.js';

const BOT = '@personas:localhost';
const invite: RoomEvent = {
  event_id: '$invite',
  room_id: '!r:localhost',
  sender: '@alice:localhost',
  type: 'm.room.member',
  state_key: BOT,
  origin_server_ts: 1,
  content: { membership: 'invite' },
};

/** A step that records every event it sees. */
const recorder = (seen: string[], name = 'recorder'): EventStep => ({ name, handle: (e) => void seen.push(`${name}:${e.event_id}`) });

describe('EventPipeline', () => {
  test('a failed bot auto-join does not keep the later steps from the event', async () => {
    const seen: string[] = [];
    const membership = new RoomMembershipStep(new RoomMembers(async () => new Map()), {
      userId: BOT,
      join: async () => {
        throw new Error('M_FORBIDDEN: the invite was withdrawn');
      },
    });
    await new EventPipeline([membership, recorder(seen), recorder(seen, 'dispatcher')], { inbound: inboundEvents() }).run(invite);
    expect(seen).toEqual(['recorder:$invite', 'dispatcher:$invite']);
  });

  test("'stop' ends the pipeline for that event: a replayed event reaches nothing after de-duplication", async () => {
    const seen: string[] = [];
    const processed = new Set<string>();
    const dedupe = new DedupeStep({ markProcessed: (id) => !processed.has(id) && processed.add(id).size > 0, has: (id) => processed.has(id) });
    const pipeline = new EventPipeline([dedupe, recorder(seen)], { inbound: inboundEvents() });
    await pipeline.run(invite);
    await pipeline.run(invite);
    expect(seen).toEqual(['recorder:$invite']);
  });

  test('steps run in the declared order, each awaited before the next', async () => {
    const seen: string[] = [];
    const slow: EventStep = { name: 'slow', handle: async (e) => void (await new Promise((r) => setTimeout(r, 10)), seen.push(`slow:${e.event_id}`)) };
    await new EventPipeline([slow, recorder(seen)], { inbound: inboundEvents() }).run(invite);
    expect(seen).toEqual(['slow:$invite', 'recorder:$invite']);
  });

  test('each step gets what is known of the event, worked out again for an event a step hands on', async () => {
    const seen: string[] = [];
    const decrypted: RoomEvent = { ...invite, event_id: '$decrypted', type: 'm.room.message', state_key: undefined, content: { msgtype: 'm.text', body: '!ping' } };
    const decrypt: EventStep = { name: 'decrypt', handle: () => ({ event: decrypted }) };
    const look = (name: string): EventStep => ({ name, handle: (_event, inbound) => void seen.push(`${name}:${inbound.event.event_id}:${inbound.senderKind}:${inbound.command}`) });
    await new EventPipeline([look('before'), decrypt, look('after')], { inbound: inboundEvents() }).run(invite);
    expect(seen).toEqual(['before:$invite:person:null', 'after:$decrypted:person:bot']);
  });

  test('a step that throws is reported (after being logged) and the later steps still run', async () => {
    const failed: string[] = [];
    const seen: string[] = [];
    const broken: EventStep = { name: 'broken', handle: () => { throw new Error('boom'); } };
    await new EventPipeline([broken, recorder(seen)], { inbound: inboundEvents(), onStepFailed: (step, e, err) => void failed.push(`${step}:${e.event_id}:${(err as Error).message}`) }).run(invite);
    expect(failed).toEqual(['broken:$invite:boom']);
    expect(seen).toEqual(['recorder:$invite']);
  });

  test('afterStep hears of each step that ran, in order, up to the one that stopped the event', async () => {
    const seen: string[] = [];
    const after: string[] = [];
    const stop: EventStep = { name: 'stop', handle: () => 'stop' };
    await new EventPipeline([recorder(seen, 'a'), stop, recorder(seen, 'b')], { inbound: inboundEvents(), afterStep: (step, e) => after.push(`${step}:${e.event_id}`) }).run(invite);
    expect(after).toEqual(['a:$invite', 'stop:$invite']);
  });
});
