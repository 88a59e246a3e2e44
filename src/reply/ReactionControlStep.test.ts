import type { ReplyRequest } from '../dispatch/Responder.js';
import type { RoomEvent } from '../matrix/events.js';
import { AnswerControls, type ActiveAnswer } from './AnswerControls.js';
import { ReactionControlStep } from './ReactionControlStep.js';
import { inboundOf } from '../../tests/support/inbound.js';

const ROOM = '!room:hs';
const ALICE = '@alice:hs';
let n = 0;
const stopMessage = (sender = ALICE): RoomEvent => ({
  event_id: `$stop${++n}`,
  room_id: ROOM,
  sender,
  type: 'm.room.message',
  origin_server_ts: n,
  content: { msgtype: 'm.text', body: '!stop' },
});

function setUp(sceneRunning: boolean) {
  const controls = new AnswerControls();
  const scenesStopped: string[] = [];
  let running = sceneRunning;
  const stopScene = (roomId: string): boolean => {
    if (!running) return false;
    running = false;
    scenesStopped.push(roomId);
    return true;
  };
  const reactions = new ReactionControlStep({
    controls,
    isAdmin: () => false,
    regenerate: () => undefined,
    isStopCommand: (body) => body.trim() === '!stop',
    stopScene: (roomId) => stopScene(roomId),
    stopSceneAt: (roomId, eventId) => eventId === '$sceneTurn' && stopScene(roomId),
  });
  const stopped: string[] = [];
  const answer = (requester: string): ActiveAnswer => ({ roomId: ROOM, personaId: '@persona_ada:hs', requester, eventId: null, stop: () => void stopped.push(requester) });
  // What the pipeline knows of each event: `!stop` a persona command, `@persona_` users ours.
  const step = { handle: (e: RoomEvent) => reactions.handle(e, inboundOf(e)) };
  return { controls, step, scenesStopped, stopped, answer };
}

describe('ReactionControlStep: !stop', () => {
  test('with a scene and an answer for the sender running, both stop', () => {
    const s = setUp(true);
    s.controls.begin(s.answer(ALICE));
    const stop = stopMessage();
    s.step.handle(stop);
    expect(s.scenesStopped).toEqual([ROOM]);
    expect(s.stopped).toEqual([ALICE]);
    expect(s.controls.stopRequestResult(stop.event_id)).toBe(2);
  });

  test('with only a scene running, the scene stops (and the command reports something stopped)', () => {
    const s = setUp(true);
    const stop = stopMessage();
    s.step.handle(stop);
    expect(s.scenesStopped).toEqual([ROOM]);
    expect(s.controls.stopRequestResult(stop.event_id)).toBe(1);
  });

  test('with neither, nothing is stopped; a persona sending !stop is ignored', () => {
    const s = setUp(false);
    const stop = stopMessage();
    s.step.handle(stop);
    expect(s.controls.stopRequestResult(stop.event_id)).toBe(0);
    const running = setUp(true);
    running.step.handle(stopMessage('@persona_bob:hs'));
    expect(running.scenesStopped).toEqual([]);
  });
});

describe('ReactionControlStep: 🛑', () => {
  const reaction = (eventId: string, sender = ALICE): RoomEvent => ({
    event_id: `$r${++n}`,
    room_id: ROOM,
    sender,
    type: 'm.reaction',
    origin_server_ts: n,
    content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key: '🛑' } },
  });

  test("on a scene's message it stops the scene, whoever reacts", () => {
    const s = setUp(true);
    s.step.handle(reaction('$other'));
    expect(s.scenesStopped).toEqual([]);
    s.step.handle(reaction('$sceneTurn', '@carol:hs'));
    expect(s.scenesStopped).toEqual([ROOM]);
  });

  test('on an answer being written for someone else it stops nothing (no scene there)', () => {
    const s = setUp(false);
    s.controls.begin({ ...s.answer('@bob:hs'), eventId: '$live' });
    s.step.handle(reaction('$live'));
    expect(s.stopped).toEqual([]);
    s.step.handle(reaction('$live', '@bob:hs'));
    expect(s.stopped).toEqual(['@bob:hs']);
  });
});

describe('ReactionControlStep: 🔁 (issue 22 #3)', () => {
  const react = (eventId: string, key: string, sender = ALICE): RoomEvent => ({
    event_id: `$r${++n}`,
    room_id: ROOM,
    sender,
    type: 'm.reaction',
    origin_server_ts: n,
    content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key } },
  });
  const redaction = (redacts: string): RoomEvent => ({ event_id: `$x${++n}`, room_id: ROOM, sender: ALICE, type: 'm.room.redaction', origin_server_ts: n, redacts, content: {} });

  function setUpRegenerate(opts: { budget?: number } = {}) {
    const controls = new AnswerControls();
    const regenerated: ReplyRequest[] = [];
    const charged: string[] = [];
    let budget = opts.budget ?? Infinity;
    const reactions = new ReactionControlStep({
      controls,
      isAdmin: () => false,
      regenerate: (r) => void regenerated.push(r),
      isStopCommand: () => false,
      charge: (personId) => (charged.push(personId), budget-- > 0),
    });
    const question: RoomEvent = { event_id: '$q', room_id: ROOM, sender: '@persona_bo:hs', type: 'm.room.message', origin_server_ts: 0, content: { msgtype: 'm.text', body: 'turn' } };
    // A scene's turn answering another persona's turn, started by Alice.
    controls.remember({ persona: { userId: '@persona_ada:hs', name: 'Ada' } as ReplyRequest['persona'], event: question, requestedBy: ALICE, isDirect: false, threadRootId: null, receivedAt: 0 }, '$answer');
    const step = { handle: (e: RoomEvent) => reactions.handle(e, inboundOf(e)) };
    return { step, regenerated, charged };
  }

  test('keys the homeserver sees as different but we read as one (spaces, VS16, zero-width) regenerate once', () => {
    const s = setUpRegenerate();
    for (const key of ['🔁', '🔁 ', ' 🔁', '\t🔁\u200b', '🔁\ufe0f']) s.step.handle(react('$answer', key));
    expect(s.regenerated).toHaveLength(1);
    expect(s.charged).toEqual([ALICE]);
    // The regeneration is Alice's (who started the scene), charged to her, not to the persona answered.
    expect(s.regenerated[0]!.requestedBy).toBe(ALICE);
  });

  test('once the reaction is redacted, the same key counts again', () => {
    const s = setUpRegenerate();
    const first = react('$answer', '🔁');
    s.step.handle(first);
    s.step.handle(react('$answer', '🔁 '));
    expect(s.regenerated).toHaveLength(1);
    s.step.handle(redaction(first.event_id));
    s.step.handle(react('$answer', ' 🔁'));
    expect(s.regenerated).toHaveLength(2);
  });

  test('over the rate limit nothing is regenerated; another person may not regenerate Alice\'s answer', () => {
    const s = setUpRegenerate({ budget: 0 });
    s.step.handle(react('$answer', '🔁'));
    expect(s.regenerated).toEqual([]);
    expect(s.charged).toEqual([ALICE]);
    const other = setUpRegenerate();
    other.step.handle(react('$answer', '🔁', '@mallory:hs'));
    expect(other.regenerated).toEqual([]);
    expect(other.charged).toEqual([]);
  });
});
