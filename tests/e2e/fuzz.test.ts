// Fuzzing the event pipeline (issue 11): 10,000 events generated with fast-check (messages,
// commands, mentions, replies, edits, membership, odd types and shapes, in a real DM with a
// persona and in rooms we know nothing about) are pushed to the bridge as Synapse would, in
// transactions over HTTP. Nothing may crash or reject unhandled, and the bridge must still
// answer a person afterwards.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { FakeOpenAI } from '../fakes/FakeOpenAI.js';
import { newUser, startTestBridge, type TestBridge, type TestUser } from './helpers/index.js';

const EVENTS = 10_000;
const PER_TRANSACTION = 100;

describe('fuzzed events through the pipeline (real Synapse)', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let bob: TestUser;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    llm = (await FakeOpenAI.start()).respondWith((req) => `fine ${req.messages.length}`);
    const personasDir = mkdtempSync(join(tmpdir(), 'fuzz-personas-'));
    writeFileSync(join(personasDir, 'ada.yaml'), 'name: Ada\nprompt: "You are Ada."\n');
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir, config: { dispatch: { user_rate_limit: { messages: 5, window_seconds: 60 } } } });
    bob = await newUser();
  }, 60_000);
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    bob?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  test(`${EVENTS} generated events and commands: no crash, no unhandled rejection, still answering`, async () => {
    const ada = tb.personaUserId('Ada');
    const dm = await bob.openDm(ada);

    const text = fc.oneof(
      fc.string(),
      fc.constantFrom('!help', '!ping', '!forget', '!summary', '!persona list', '!persona show Ada', '!persona spawn Eve', '!persona set Ada avatar file:///etc/passwd', '!', '!!', 'Ada?', '@Ada hi', ''),
      fc.string().map((s) => `Ada, ${s}`),
      fc.string({ unit: 'grapheme', maxLength: 200 }),
    );
    const content = fc.oneof(
      fc.record(
        {
          msgtype: fc.constantFrom('m.text', 'm.notice', 'm.emote', 'm.image', 'weird'),
          body: fc.oneof(text, fc.integer(), fc.constant(null)),
          'm.mentions': fc.oneof(fc.constant({ user_ids: [ada] }), fc.record({ user_ids: fc.array(fc.string()) }), fc.anything()),
          'm.relates_to': fc.oneof(
            fc.record({ rel_type: fc.constantFrom('m.thread', 'm.replace', 'm.annotation'), event_id: fc.string() }),
            fc.record({ 'm.in_reply_to': fc.record({ event_id: fc.string() }) }),
            fc.anything(),
          ),
          'm.new_content': fc.anything(),
          membership: fc.constantFrom('join', 'leave', 'invite', 'ban'),
          format: fc.constant('org.matrix.custom.html'),
          formatted_body: fc.string(),
        },
        { requiredKeys: [] },
      ),
      fc.dictionary(fc.string(), fc.anything()),
    );
    const event = fc.record(
      {
        type: fc.constantFrom('m.room.message', 'm.room.message', 'm.room.message', 'm.room.member', 'm.room.encrypted', 'm.reaction', 'm.room.redaction', 'x.custom'),
        room_id: fc.oneof(fc.constant(dm), fc.constant(dm), fc.constant('!nowhere:localhost'), fc.string()),
        sender: fc.constantFrom(bob.userId, ada, tb.botUserId, '@stranger:localhost', '@persona_nope:localhost'),
        event_id: fc.uuid().map((u) => `$fuzz-${u}`),
        origin_server_ts: fc.oneof(fc.constant(Date.now()), fc.integer({ min: 0, max: Date.now() + 1e9 })),
        content,
        state_key: fc.oneof(fc.constant(undefined), fc.constant(''), fc.constant(ada), fc.constant(bob.userId), fc.string()),
        unsigned: fc.oneof(fc.constant(undefined), fc.anything()),
      },
      { requiredKeys: ['type', 'room_id', 'sender', 'event_id', 'content'] },
    );
    // A few deliberately broken entries beside the well-formed ones.
    const entry = fc.oneof({ arbitrary: event, weight: 20 }, { arbitrary: fc.anything(), weight: 1 });
    const events = fc.sample(entry, { numRuns: EVENTS, seed: 11 });

    const token = tb.registration.getHomeserverToken();
    for (let i = 0; i < events.length; i += PER_TRANSACTION) {
      const res = await fetch(`${tb.appserviceUrl}/_matrix/app/v1/transactions/fuzz-${Date.now()}-${i}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ events: events.slice(i, i + PER_TRANSACTION) }),
      });
      expect(res.status).toBe(200);
    }
    await tb.app.services.eventQueue.idle();
    await tb.app.services.dispatcher.idle();

    expect(unhandled).toEqual([]);
    // The events reached the deciding steps, not only the filter: some were answered.
    expect(tb.app.services.dispatcher.stats.dispatched).toBeGreaterThan(0);
    expect((await fetch(`${tb.appserviceUrl}/health`)).status).toBe(200);
    // Still answering a person (a new user: the rate limit spent by the fuzzed senders is not theirs).
    const carol = await newUser();
    try {
      const room = await carol.openDm(ada);
      await carol.sendText(room, 'are you still there?');
      await carol.waitForMessage(room, (e) => e.sender === ada && /^fine /.test(e.content.body ?? ''), 60_000, "Ada's answer after the fuzzing");
    } finally {
      carol.stop();
    }
  }, 600_000);
});
