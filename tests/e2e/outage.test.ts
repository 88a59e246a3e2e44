// A homeserver outage during answers (issue 11): the run's shared Synapse is stopped while two
// personas are answering, kept down for 30 s, and started again. The answers the model finished
// during the outage reach the person once Synapse is back, each exactly once and complete:
// Ada's live answer (shown before the outage, edited during it) ends with its full text, and
// Bea's plain answer (live answers off, nothing shown before the outage) is one message.
// The person reads the rooms with a fresh login afterwards (re-synced, as a client would).
import { FINAL_KEY, LIVE_KEY } from '../../src/matrix/liveMessages.js';
import { answeredText, FakeOpenAI, systemText } from '../fakes/FakeOpenAI.js';
import {
  newUser,
  readState,
  seedPersonas,
  startHomeserver,
  startTestBridge,
  stopHomeserver,
  waitUntil,
  type RawEvent,
  type TestBridge,
  type TestUser,
} from './helpers/index.js';

/** How long the homeserver stays down (the scenario). */
const OUTAGE_MS = 30_000;
/** Ada's long answer: the first sentence is shown before the outage, the rest written during it. */
const STORY = `Once upon a time there was a homeserver. ${Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ')} the end.`;
/** Stream pieces (words) written before the model waits for the outage to begin. */
const WORDS_BEFORE_OUTAGE = 12;

type Relation = { rel_type?: string; event_id?: string } | undefined;
const relation = (e: RawEvent): Relation => e.content['m.relates_to'] as Relation;
const isEdit = (e: RawEvent): boolean => relation(e)?.rel_type === 'm.replace';
const isEditOf = (e: RawEvent, eventId: string): boolean => isEdit(e) && relation(e)?.event_id === eventId;
const newBody = (e: RawEvent): string => String((e.content['m.new_content'] as { body?: string } | undefined)?.body);

/** The room's whole timeline as the homeserver has it, oldest first (not only what a sync returned). */
async function history(user: TestUser, roomId: string): Promise<RawEvent[]> {
  const events: RawEvent[] = [];
  let from: string | undefined;
  for (;;) {
    const qs = new URLSearchParams({ dir: 'b', limit: '100', ...(from ? { from } : {}) });
    const res = await fetch(`${readState().synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?${qs}`, {
      headers: { authorization: `Bearer ${user.accessToken}` },
    });
    if (!res.ok) throw new Error(`/messages of ${roomId}: HTTP ${res.status} ${await res.text()}`);
    const page = (await res.json()) as { chunk: RawEvent[]; end?: string };
    events.push(...page.chunk);
    if (!page.end || page.chunk.length === 0) return events.reverse();
    from = page.end;
  }
}

describe('Synapse stopped during answers and started again 30 s later', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let ada: string;
  let bea: string;
  const users: TestUser[] = [];

  beforeAll(async () => {
    llm = await FakeOpenAI.start();
    const personasDir = seedPersonas('outage', [
      { name: 'Ada', prompt: 'You are Ada.' },
      { name: 'Bea', prompt: 'You are Bea.' },
    ]);
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir, config: { llm: { stream: true, timeout_seconds: 120 } } });
    ada = tb.personaUserId('Ada');
    bea = tb.personaUserId('Bea');
    // Ada answers live (replies.live, the default); Bea sends each answer once, complete.
    await tb.app.services.lifecycle.update('Bea', { live: false });
  }, 90_000);

  afterAll(async () => {
    // Whatever happened above, the files after this one need their homeserver.
    await startHomeserver();
    users.forEach((u) => u.stop());
    await tb?.stop();
    await llm?.stop();
  }, 180_000);

  test('both answers arrive once it is back, exactly once: the live one edited to its full text, the plain one whole', async () => {
    const alice = await newUser();
    users.push(alice);
    const adaRoom = await alice.openDm(ada);
    const beaRoom = await alice.openDm(bea);

    let beginOutage!: () => void;
    const outageBegun = new Promise<void>((resolve) => (beginOutage = resolve));
    llm.respondWith((req) =>
      systemText(req).includes('You are Ada.')
        ? { content: STORY, chunkDelayMs: 100, pauseAfterChunks: { chunks: WORDS_BEFORE_OUTAGE, until: outageBegun } }
        : outageBegun.then(() => `Bea heard: ${answeredText(req)}`),
    );
    await alice.sendText(adaRoom, 'tell me a story');
    await alice.sendText(beaRoom, 'a question');
    // Ada's answer is visible, Bea's is still with the model.
    const live = await alice.waitForMessage(adaRoom, (e) => e.sender === ada && LIVE_KEY in e.content, 60_000, "Ada's live message");
    expect(STORY.startsWith(String(live.content.body))).toBe(true);
    await llm.waitForRequests(2);
    // No client keeps syncing against a homeserver that is gone; the person logs in again after.
    alice.stop();
    tb.admin.stop();

    const downAt = Date.now();
    await stopHomeserver();
    try {
      // The model finishes both answers while the homeserver is down...
      beginOutage();
      await llm.waitForAnswers(2, OUTAGE_MS);
      // ...and the bridge keeps trying to send them rather than dropping them.
      await waitUntil(() => tb.app.services.matrix.sending > 0, 'a send in flight during the outage', OUTAGE_MS);
      const left = OUTAGE_MS - (Date.now() - downAt);
      // The outage itself: a fixed length is the scenario, not a guess at how long something takes.
      if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
      expect(tb.app.services.matrix.sending).toBeGreaterThan(0);
    } finally {
      await startHomeserver();
    }

    const back = await newUser({ localpart: alice.localpart });
    users.push(back);
    const beaAnswer = await back.waitForMessage(beaRoom, (e) => e.sender === bea && e.content.body === 'Bea heard: a question', 90_000, "Bea's answer");
    const finalEdit = await back.waitForEvent(adaRoom, (e) => isEditOf(e, live.event_id) && FINAL_KEY in e.content, 90_000, "Ada's final edit");
    expect(newBody(finalEdit)).toBe(STORY);

    // A marker answered in each room after them: nothing more can still come for the answers.
    llm.respondWith((req) => `${systemText(req).includes('You are Ada.') ? 'Ada' : 'Bea'} heard: ${answeredText(req)}`);
    for (const [roomId, persona, name] of [[adaRoom, ada, 'Ada'], [beaRoom, bea, 'Bea']] as const) {
      await back.sendText(roomId, 'marker');
      await back.waitForMessage(roomId, (e) => e.sender === persona && e.content.body === `${name} heard: marker`, 60_000, `${name}'s marker answer`);
    }

    const adaEvents = (await history(back, adaRoom)).filter((e) => e.sender === ada && e.type === 'm.room.message');
    // One message for the story (plus the marker's answer), no failure notice.
    expect(adaEvents.filter((e) => !isEdit(e)).map((e) => e.content.body)).toEqual([live.content.body, 'Ada heard: marker']);
    const edits = adaEvents.filter((e) => isEditOf(e, live.event_id));
    expect(edits.filter((e) => FINAL_KEY in e.content).map((e) => e.event_id)).toEqual([finalEdit.event_id]);
    // What clients show: the last edit, the whole story, no longer marked live.
    expect(newBody(edits.at(-1)!)).toBe(STORY);
    expect(edits.at(-1)!.content['m.new_content']).not.toHaveProperty(LIVE_KEY);

    const beaEvents = (await history(back, beaRoom)).filter((e) => e.sender === bea && e.type === 'm.room.message');
    expect(beaEvents.map((e) => e.content.body)).toEqual(['Bea heard: a question', 'Bea heard: marker']);
    expect(beaEvents[0]!.event_id).toBe(beaAnswer.event_id);
    // Nothing of the answers was dropped for good.
    expect(await tb.app.services.metrics?.registry.getSingleMetricAsString('personas_sends_dropped_total')).toMatch(/personas_sends_dropped_total 0\b/);
  }, 300_000);
});
