// The scene driver with the real Dispatcher, TurnBudget and answer queue; the responder is a
// fake that "sends" each answer (its echo comes back through the dispatcher, mentioning every
// other persona, as the worst case) or hangs until cancelled.
import type { BridgeConfig } from '../config/Config.js';
import { Dispatcher } from '../dispatch/Dispatcher.js';
import { RateLimiter } from '../dispatch/RateLimiter.js';
import { STOPPED_BY_PERSON, type ReplyRequest } from '../dispatch/Responder.js';
import type { RoomEvent } from '../matrix/events.js';
import { RoomMembers } from '../matrix/RoomMembers.js';
import type { Persona } from '../personas/Persona.js';
import { directoryOf, message, persona } from '../../tests/support/dispatchFixtures.js';
import { DEFAULT_TALKATIVENESS } from '../dispatch/speakerOrder.js';
import { RunningScenes } from './RunningScenes.js';
import { SceneDirector } from './SceneDirector.js';
import { InboundEvents } from '../pipeline/InboundEvent.js';
import type { Scene, SceneStart } from './scene.js';
import type { OrderMode } from '../rooms/roomSettings.js';

const BOT = '@personas:localhost';
const alice = '@alice:localhost';
const carol = '@carol:localhost';
const ROOM = '!group:localhost';
const [ara, bex, cyd] = [persona('Ara'), persona('Bex'), persona('Cyd')];

const dispatchConfig: BridgeConfig['dispatch'] = {
  loop_threshold: 5,
  loop_reset_seconds: 300,
  max_event_age_seconds: 300,
  user_rate_limit: { messages: 100, window_seconds: 60 },
};

interface SetUp {
  /** The room's turn budget (default 2 × loop_threshold = 10). */
  limit?: () => number | undefined;
  /** Per request: 'answer' (default), 'hang' until cancelled, or 'fail' (nothing sent). */
  behaviour?: (request: ReplyRequest, index: number) => 'answer' | 'hang' | 'fail';
  present?: () => Persona[];
  /** The room's order mode: when set, the dispatcher's choice (speakersIn, nextSpeaker) is used. */
  order?: OrderMode;
  /** What a scene turn says (default: it mentions every other persona). */
  text?: (request: ReplyRequest, index: number) => string;
  /** The per-person rate limit shared with the dispatcher (default: none). */
  rateLimit?: RateLimiter;
}

function setUp(opts: SetUp = {}) {
  const joined = [alice, carol, ara.userId, bex.userId, cyd.userId, BOT];
  const members = new RoomMembers(async () => new Map(joined.map((id) => [id, {}])));
  const requests: ReplyRequest[] = [];
  const notices: string[] = [];
  const cancelled: string[] = [];
  const reasons: unknown[] = [];
  let sent = 0;
  const running = new RunningScenes();
  const dispatcher = new Dispatcher({
    config: dispatchConfig,
    botUserId: BOT,
    personas: directoryOf(ara, bex, cyd),
    members,
    responder: { respond: (request) => respond(request) },
    runPersonaCommand: async () => undefined,
    sendNotice: async (_from, _room, text) => void notices.push(text),
    voice: { notice: async (_room, text) => (notices.push(text), BOT) },
    fetchSender: async () => null,
    turnLimitFor: () => opts.limit?.(),
    orderOf: () => opts.order ?? 'mention',
    scenes: running,
    rateLimiter: opts.rateLimit ?? new RateLimiter({ limit: 100, windowMs: 60_000 }),
    silencedIn: () => null,
    talkativenessIn: () => DEFAULT_TALKATIVENESS,
    joinedAtIn: () => new Map(),
    lastPersonIn: () => null,
    onSettled: () => undefined,
    commandPrefix: '!',
    timelines: { take: () => undefined },
    runUnaddressedCommand: async () => undefined,
  });
  /** What the pipeline knows of each event (sender, command kind, room), as it hands it to the step. */
  const inbound = new InboundEvents({
    botUserId: BOT,
    isOurUser: (userId) => userId === BOT || userId.startsWith('@persona_'),
    personas: directoryOf(ara, bex, cyd),
    classify: (body) => (/^!(converse|stop|next)\b/.test(body) ? 'bot' : null),
    members,
    voice: { voiceFor: async () => ({ userId: BOT, isBot: true }) },
  });
  const handle = (event: RoomEvent) => dispatcher.handle(event, inbound.of(event));
  const director = new SceneDirector({
    running,
    runInRoom: (roomId, task) => dispatcher.runInRoom(roomId, task),
    turns: dispatcher.turns,
    respond: (request) => respond(request),
    speakers: async (roomId) => (opts.order ? dispatcher.speakersIn(roomId) : (opts.present?.() ?? [ara, bex, cyd])),
    ...(opts.order
      ? { chooseNext: (roomId: string, present: Persona[], scene: Scene) => dispatcher.nextSpeaker(roomId, present, { sender: scene.last.sender, content: { body: scene.last.body } }, scene.spoke) }
      : {}),
    notify: async (_room, text) => void notices.push(text),
    ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
    commandPrefix: '!',
  });

  async function respond(request: ReplyRequest): Promise<void> {
    const index = requests.push(request) - 1;
    const how = opts.behaviour?.(request, index) ?? 'answer';
    if (how === 'fail') return;
    if (how === 'hang') {
      await new Promise<void>((resolve) => request.signal?.addEventListener('abort', () => resolve(), { once: true }));
      cancelled.push(request.persona.name);
      reasons.push(request.signal?.reason);
      return;
    }
    const eventId = `$sent${++sent}`;
    // Scene turns mention every other persona (the worst case); other answers mention nobody.
    const others = request.scene ? [ara, bex, cyd].filter((p) => p.userId !== request.persona.userId) : [];
    const body = opts.text?.(request, index) ?? `${others.map((p) => `@${p.name}`).join(' ')} ${request.persona.name} says ${sent}`;
    request.onSent?.(eventId, body);
    // The echo: a persona message that mentions the others, as Synapse pushes it back.
    await handle(message(request.persona.userId, { body, 'm.mentions': { user_ids: others.map((p) => p.userId) } }, { event_id: eventId, room_id: ROOM }));
  }

  const say = (sender: string, body: string): RoomEvent => message(sender, body, { room_id: ROOM });
  const start = (event: RoomEvent, turns: number, topic = 'tea'): Promise<void> => {
    const spec: SceneStart = {
      roomId: ROOM,
      topic,
      turns,
      startedBy: event.sender,
      start: { eventId: event.event_id, sender: event.sender, body: String(event.content.body) },
      threadRootId: null,
    };
    return director.start(spec).done;
  };
  return { dispatcher, handle, director, requests, notices, cancelled, reasons, say, start };
}

const names = (requests: ReplyRequest[]) => requests.map((r) => r.persona.name);

describe('SceneDirector', () => {
  test('every turn is charged to the person who started the scene (issue 22 #4), and her rate limit ends it (#3)', async () => {
    const rateLimit = new RateLimiter({ limit: 3, windowMs: 60_000 });
    const s = setUp({ rateLimit });
    const command = s.say(alice, '!converse 6 tea');
    await s.handle(command);
    await s.start(command, 6);
    await s.dispatcher.idle();
    // Three turns (Alice's budget), each charged to Alice although turns 2 and 3 answer personas.
    expect(names(s.requests)).toEqual(['Ara', 'Bex', 'Cyd']);
    expect(s.requests.map((r) => r.requestedBy)).toEqual([alice, alice, alice]);
    expect(s.requests[1]!.event.sender).toBe(ara.userId);
    expect(s.notices).toEqual([expect.stringMatching(/^The scene stops here \(3 of 6 turns\): its turns count against the rate limit of the person who started it/)]);
    expect(rateLimit.hasRoom(alice)).toBe(false);
    expect(rateLimit.hasRoom(carol)).toBe(true);
  });

  test('exactly the asked turns in roster order, each following the one before; echoes start no answers', async () => {
    const s = setUp();
    const command = s.say(alice, '!converse 4 tea');
    await s.handle(command);
    await s.start(command, 4);
    await s.dispatcher.idle();
    expect(names(s.requests)).toEqual(['Ara', 'Bex', 'Cyd', 'Ara']);
    expect(s.requests.map((r) => r.event.event_id)).toEqual([command.event_id, '$sent1', '$sent2', '$sent3']);
    expect(s.requests[1]!.event).toMatchObject({ sender: ara.userId, content: { body: expect.stringContaining('Ara says 1') } });
    expect(s.requests[0]!.scene).toEqual({ direction: expect.stringContaining('This is turn 1 of 4.'), opening: expect.stringContaining('tea') });
    expect(s.requests[3]!.scene).toEqual({ direction: expect.stringContaining('This is the last turn'), opening: null });
    expect(s.requests[0]!.scene!.direction).toContain('a conversation with Bex and Cyd about: tea');
    expect(s.notices).toEqual(['The scene is over (4 of 4 turns). To go on: !converse again, !next, or just say something.']);
    // Four persona messages since alice spoke: the turn budget counted every one.
    expect(s.dispatcher.turns.used(ROOM)).toBe(4);
    expect(s.director.isRunning(ROOM)).toBe(false);
  });

  test("the room's order mode picks each turn: in mention order a persona named in the last turn speaks next", async () => {
    const lines = ['Cyd, your turn.', 'What do you say, Ara?', 'Nobody in particular.', 'The end.'];
    const s = setUp({ order: 'mention', text: (_r, i) => lines[i] ?? '' });
    const command = s.say(alice, '!converse 4 tea');
    await s.handle(command);
    await s.start(command, 4);
    // Named: Cyd, then Ara (again); named by nobody: the first who has not spoken, Bex.
    expect(names(s.requests)).toEqual(['Ara', 'Cyd', 'Ara', 'Bex']);
  });

  test('the !converse message reaching the dispatcher after the scene started neither ends it nor resets the count', async () => {
    const s = setUp({ behaviour: (_r, i) => (i === 1 ? 'hang' : 'answer') });
    const command = s.say(alice, '!converse 3 tea');
    const done = s.start(command, 3);
    await s.handle(command);
    await waitFor(() => s.requests.length === 2);
    expect(s.director.isRunning(ROOM)).toBe(true);
    expect(s.dispatcher.turns.used(ROOM)).toBe(2);
    s.director.stop(ROOM);
    await done;
  });

  test('a person writing mid-scene ends it: the turn being written is cancelled and the person is answered as usual', async () => {
    const s = setUp({ behaviour: (r) => (r.scene && r.persona === cyd ? 'hang' : 'answer') });
    const command = s.say(alice, '!converse 6 tea');
    await s.handle(command);
    const done = s.start(command, 6);
    await waitFor(() => s.requests.length === 3);
    const interruption = s.say(carol, 'Bex, what about coffee?');
    await s.handle(interruption);
    await done;
    await s.dispatcher.idle();
    expect(s.cancelled).toEqual(['Cyd']);
    expect(s.reasons).not.toContain(STOPPED_BY_PERSON);
    expect(names(s.requests)).toEqual(['Ara', 'Bex', 'Cyd', 'Bex']);
    expect(s.requests[3]).toMatchObject({ event: interruption });
    expect(s.requests[3]!.scene).toBeUndefined();
    expect(s.notices).toEqual([]);
    expect(s.director.isRunning(ROOM)).toBe(false);
  });

  test('!stop ends the scene with a notice; with no scene running it reports nothing stopped', async () => {
    const s = setUp({ behaviour: (_r, i) => (i === 1 ? 'hang' : 'answer') });
    expect(s.director.stop(ROOM)).toBe(false);
    const command = s.say(alice, '!converse 5 tea');
    const done = s.start(command, 5);
    await waitFor(() => s.requests.length === 2);
    expect(s.director.stop(ROOM)).toBe(true);
    await done;
    expect(s.cancelled).toEqual(['Bex']);
    // Stopped on request: what the turn showed stays, marked as stopped (the responder's rule).
    expect(s.reasons).toEqual([STOPPED_BY_PERSON]);
    expect(s.notices).toEqual(['Scene stopped after 1 of 5 turns.']);
    expect(s.director.stop(ROOM)).toBe(false);
  });

  test('🛑 on one of the running scene\'s messages, or on its turn being written, stops it; on anything else nothing', async () => {
    const s = setUp({ behaviour: (_r, i) => (i === 2 ? 'hang' : 'answer') });
    const never = () => false;
    expect(s.director.stopAt(ROOM, '$sent1', never)).toBe(false);
    const done = s.start(s.say(alice, '!converse 5 tea'), 5);
    await waitFor(() => s.requests.length === 3);
    expect(s.director.stopAt(ROOM, '$unrelated', never)).toBe(false);
    expect(s.director.stopAt(ROOM, '$live', (id) => id === '$live')).toBe(true);
    await done;
    expect(s.reasons).toEqual([STOPPED_BY_PERSON]);
    expect(s.notices).toEqual(['Scene stopped after 2 of 5 turns.']);

    // On an earlier turn of a scene that is still running.
    const again = setUp({ behaviour: (_r, i) => (i === 1 ? 'hang' : 'answer') });
    const running = again.start(again.say(alice, '!converse 3 tea'), 3);
    await waitFor(() => again.requests.length === 2);
    expect(again.director.stopAt(ROOM, '$sent1', never)).toBe(true);
    await running;
    expect(again.notices).toEqual(['Scene stopped after 1 of 3 turns.']);
  });

  test('a new !converse replaces the running scene', async () => {
    const s = setUp({ behaviour: (r) => (r.scene?.direction.includes('about: tea') && r.persona === bex ? 'hang' : 'answer') });
    const first = s.say(alice, '!converse 5 tea');
    const firstDone = s.start(first, 5);
    await waitFor(() => s.requests.length === 2);
    const second = s.say(carol, '!converse 2 coffee');
    const secondDone = s.start(second, 2, 'coffee');
    await Promise.all([firstDone, secondDone]);
    expect(s.requests.map((r) => `${r.persona.name}:${/about: (\w+)/.exec(r.scene!.direction)?.[1]}`)).toEqual(['Ara:tea', 'Bex:tea', 'Ara:coffee', 'Bex:coffee']);
    expect(s.notices).toEqual(['The scene is over (2 of 2 turns). To go on: !converse again, !next, or just say something.']);
  });

  test('the bridge stopping ends every scene, says so, and starts none after', async () => {
    const s = setUp({ behaviour: (_r, i) => (i === 0 ? 'hang' : 'answer') });
    const done = s.start(s.say(alice, '!converse 3 tea'), 3);
    await waitFor(() => s.requests.length === 1);
    s.director.stopAll();
    await done;
    expect(s.cancelled).toEqual(['Ara']);
    expect(s.notices).toEqual([expect.stringMatching(/^The bridge is stopping, so the scene ends here \(0 of 3 turns\); scenes do not resume after a restart/)]);
    await s.start(s.say(alice, '!converse 3 tea'), 3);
    expect(s.requests).toHaveLength(1);
  });

  test('the turn budget still holds: lowered mid-scene, the scene stops at it with a notice', async () => {
    let limit = 10;
    const s = setUp({ limit: () => limit, behaviour: () => 'answer' });
    const command = s.say(alice, '!converse 5 tea');
    await s.handle(command);
    limit = 2;
    await s.start(command, 5);
    expect(names(s.requests)).toEqual(['Ara', 'Bex']);
    expect(s.notices).toEqual(['The scene stops here (2 of 5 turns): this room\'s turn budget is used up. Say something, or !next, to go on.']);
  });

  test('a persona that cannot answer ends the scene; so do fewer than two personas able to speak', async () => {
    const failing = setUp({ behaviour: (_r, i) => (i === 1 ? 'fail' : 'answer') });
    await failing.start(failing.say(alice, '!converse 4 tea'), 4);
    expect(failing.notices).toEqual(['The scene stops here (1 of 4 turns): a persona could not answer.']);

    let present = [ara, bex, cyd];
    const leaving = setUp({ present: () => present, behaviour: () => ((present = [ara]), 'answer') });
    await leaving.start(leaving.say(alice, '!converse 4 tea'), 4);
    expect(names(leaving.requests)).toEqual(['Ara']);
    expect(leaving.notices).toEqual(['The scene stops here (1 of 4 turns): fewer than two personas here may speak.']);
  });
});

/** Polls a condition the fakes make true soon (no timing is asserted). */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setTimeout(r, 1));
  if (!condition()) throw new Error('condition not met');
}
