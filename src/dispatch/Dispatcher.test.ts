import type { BridgeConfig } from '../config/Config.js';
import type { RoomEvent } from '../matrix/events.js';
import { RoomMembers } from '../matrix/RoomMembers.js';
import type { Persona } from '../personas/Persona.js';
import type { OrderMode } from '../rooms/roomSettings.js';
import { RoomVoice } from '../rooms/RoomVoice.js';
import { InboundEvents } from '../pipeline/InboundEvent.js';
import { Dispatcher, type DispatcherDeps } from './Dispatcher.js';
import type { ReplyRequest } from './Responder.js';
import { directoryOf, message, persona } from '../../tests/support/dispatchFixtures.js';
import { AnswerTimelines, Timeline } from '../metrics/AnswerTimeline.js';
import { RunningScenes } from '../scenes/RunningScenes.js';
import { RateLimiter } from './RateLimiter.js';
import { DEFAULT_TALKATIVENESS } from './speakerOrder.js';

const BOT = '@personas:localhost';
const alice = '@alice:localhost';
const carol = '@carol:localhost';
const ada = persona('Ada');
const bob = persona('Bob');
const DM = '!dm:localhost';
const GROUP = '!group:localhost';
const OTHER = '!other:localhost';

const dispatchConfig = (overrides: Partial<BridgeConfig['dispatch']> = {}): BridgeConfig['dispatch'] => ({
  loop_threshold: 2,
  loop_reset_seconds: 300,
  max_event_age_seconds: 300,
  user_rate_limit: { messages: 100, window_seconds: 60 },
  ...overrides,
});

/** A responder whose answers finish when the test says so, recording start order. */
class ManualResponder {
  readonly started: ReplyRequest[] = [];
  private readonly pending: Array<() => void> = [];
  autoFinish = true;

  async respond(request: ReplyRequest): Promise<void> {
    this.started.push(request);
    if (this.autoFinish) return;
    await new Promise<void>((resolve) => this.pending.push(resolve));
  }

  finishNext(): void {
    this.pending.shift()?.();
  }

  get answered(): string[] {
    return this.started.map((r) => `${r.persona.name}<-${r.event.event_id}`);
  }
}

interface SetUpOptions {
  config?: Partial<BridgeConfig['dispatch']>;
  rooms?: Record<string, string[]>;
  /** Persona commands run (persona:event). */
  personaCommandsRun?: string[];
  personas?: Persona[];
  /** Replaces the recording responder's answers. */
  respond?: (request: ReplyRequest) => Promise<void>;
  silencedIn?: DispatcherDeps['silencedIn'];
  /** Any other dependency (order mode, roster, random source). */
  deps?: Partial<DispatcherDeps>;
}

function setUp(opts: SetUpOptions = {}) {
  const rooms = opts.rooms ?? { [DM]: [alice, ada.userId], [GROUP]: [alice, carol, ada.userId, bob.userId] };
  const members = new RoomMembers(async (roomId) => new Map((rooms[roomId] ?? []).map((id) => [id, {}])));
  const responder = new ManualResponder();
  const notices: { from: string; roomId: string; text: string }[] = [];
  const fetched: { roomId: string; eventId: string; asUserId: string }[] = [];
  const remoteSenders = new Map<string, string>();
  const clock = { t: Date.now() };
  const personas = directoryOf(...(opts.personas ?? [ada, bob]));
  const sendNotice = async (from: string, roomId: string, text: string) => void notices.push({ from, roomId, text });
  const voice = new RoomVoice({ botUserId: BOT, members, personasIn: (roomId) => members.joined(roomId).filter((u) => personas.byUserId(u)), sendNotice });
  const config = dispatchConfig(opts.config);
  const deps: DispatcherDeps = {
    config,
    botUserId: BOT,
    personas,
    responder: opts.respond ? { respond: opts.respond } : responder,
    members,
    runPersonaCommand: async (request) => void opts.personaCommandsRun?.push(`${request.persona.name}:${request.event.event_id}`),
    sendNotice,
    voice,
    fetchSender: async (roomId, eventId, asUserId) => {
      fetched.push({ roomId, eventId, asUserId });
      return remoteSenders.get(eventId) ?? null;
    },
    now: () => clock.t,
    // What the composition root gives when the room sets nothing (app/composeDispatch.ts).
    rateLimiter: new RateLimiter({ limit: config.user_rate_limit.messages, windowMs: config.user_rate_limit.window_seconds * 1000, now: () => clock.t }),
    turnLimitFor: () => undefined,
    silencedIn: opts.silencedIn ?? (() => null),
    orderOf: () => 'mention',
    talkativenessIn: () => DEFAULT_TALKATIVENESS,
    joinedAtIn: () => new Map(),
    lastPersonIn: () => null,
    onSettled: () => undefined,
    scenes: new RunningScenes(),
    commandPrefix: '!',
    timelines: { take: () => undefined },
    runUnaddressedCommand: async () => undefined,
    ...opts.deps,
  };
  const dispatcher = new Dispatcher(deps);
  /** What the pipeline knows of each event (sender, command kind, room), as it hands it to the step. */
  const inbound = new InboundEvents({
    botUserId: BOT,
    isOurUser: (userId) => userId === BOT || userId.startsWith('@persona_'),
    personas,
    classify: (body) => (/^!(help|ping)\b/.test(body) ? 'bot' : /^!(forget|summary)\b/.test(body) ? 'persona' : null),
    members,
    voice,
  });
  /** Hands events to the dispatcher like the bridge does: one after another. */
  const deliver = async (...events: RoomEvent[]) => {
    for (const e of events) {
      members.apply(e);
      await dispatcher.handle(e, inbound.of(e));
    }
    await dispatcher.idle();
  };
  const at = (roomId: string, sender: string, content: Record<string, unknown> | string, extra: Partial<RoomEvent> = {}) =>
    message(sender, content, { room_id: roomId, origin_server_ts: clock.t, ...extra });
  return { dispatcher, inbound, responder, notices, fetched, remoteSenders, clock, members, deliver, at };
}

describe('Dispatcher: who answers', () => {
  test('a silenced persona (muted, or not allowed to send) is never asked, the others still answer', async () => {
    const asked: string[] = [];
    const { responder, deliver, at } = setUp({
      silencedIn: (roomId, p) => {
        asked.push(`${p.name}@${roomId}`);
        return p.name === 'Bob' ? 'muted' : null;
      },
    });
    const both = at(GROUP, alice, 'Ada and Bob, hello');
    await deliver(both, at(DM, alice, 'hi'));
    expect(responder.answered).toEqual([`Ada<-${both.event_id}`, `Ada<-${responder.started[1]?.event.event_id}`]);
    expect(asked).toEqual([`Ada@${GROUP}`, `Bob@${GROUP}`, `Ada@${DM}`]);
  });

  test("the first answer to a message takes the message's timeline, lapped at the decision; the others and persona commands none", async () => {
    const timelines = new AnswerTimelines();
    const { responder, deliver, at } = setUp({ deps: { timelines } });
    const both = at(GROUP, alice, 'Ada and Bob, hello');
    const command = at(DM, alice, '!forget');
    const timeline = new Timeline();
    timelines.begin(both.event_id, timeline);
    timelines.begin(command.event_id, new Timeline());
    await deliver(both, command);
    expect(responder.started.map((r) => r.timeline)).toEqual([timeline, undefined]);
    expect([...timeline.stages().keys()]).toEqual(['dispatcher']);
    expect(timelines.size).toBe(1); // the command's, closed by the bridge once the pipeline is done
  });

  test('in a DM the persona answers every message, with the request filled in', async () => {
    const { responder, deliver, at } = setUp();
    const first = at(DM, alice, 'hello');
    const threaded = at(DM, alice, { body: 'in a thread', 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } });
    await deliver(first, threaded);
    expect(responder.answered).toEqual([`Ada<-${first.event_id}`, `Ada<-${threaded.event_id}`]);
    expect(responder.started[0]).toMatchObject({ persona: ada, event: first, isDirect: true, threadRootId: null });
    expect(responder.started[1]?.threadRootId).toBe('$root');
  });

  test('edits, notices, old messages, redactions, state and the persona itself trigger nothing', async () => {
    const { responder, deliver, at, clock } = setUp();
    await deliver(
      at(DM, alice, { body: '* hello', 'm.relates_to': { rel_type: 'm.replace', event_id: '$x' } }),
      at(DM, alice, { msgtype: 'm.notice', body: 'notice' }),
      at(DM, alice, 'from before the downtime', { origin_server_ts: clock.t - 301_000 }),
      { ...at(DM, alice, {}), type: 'm.room.redaction', redacts: '$x' },
      { ...at(DM, alice, { name: 'room' }), type: 'm.room.name', state_key: '' },
      at(DM, ada.userId, 'my own message'),
      at(DM, BOT, 'the bot talking'),
    );
    expect(responder.started).toEqual([]);
  });

  test('a group stays silent until a persona is mentioned by name, pill, m.mentions or reply', async () => {
    const { responder, deliver, at, fetched, remoteSenders } = setUp();
    const chatter = at(GROUP, alice, 'hello everyone');
    const byName = at(GROUP, alice, 'ada, are you there?');
    const byPill = at(GROUP, carol, { body: 'hi', formatted_body: `<a href="https://matrix.to/#/${bob.userId}">Bob</a> hi` });
    const byIntent = at(GROUP, carol, { body: 'hey you', 'm.mentions': { user_ids: [ada.userId] } });
    const adaSays = at(GROUP, ada.userId, 'I am here');
    const replyToSeen = at(GROUP, alice, { body: 'why?', 'm.relates_to': { 'm.in_reply_to': { event_id: adaSays.event_id } } });
    remoteSenders.set('$older', bob.userId);
    const replyToUnseen = at(GROUP, alice, { body: 'and that?', 'm.relates_to': { 'm.in_reply_to': { event_id: '$older' } } });
    await deliver(chatter, byName, byPill, byIntent, adaSays, replyToSeen, replyToUnseen);
    expect(responder.answered).toEqual([
      `Ada<-${byName.event_id}`,
      `Bob<-${byPill.event_id}`,
      `Ada<-${byIntent.event_id}`,
      `Ada<-${replyToSeen.event_id}`,
      `Bob<-${replyToUnseen.event_id}`,
    ]);
    expect(responder.started.every((r) => !r.isDirect)).toBe(true);
    // Only the unseen event was fetched, as a persona in the room.
    expect(fetched).toEqual([{ roomId: GROUP, eventId: '$older', asUserId: ada.userId }]);
  });

  test('membership changes are followed: a third member turns a DM into a group', async () => {
    const { responder, deliver, at } = setUp();
    const member = (userId: string, membership: string): RoomEvent => ({
      ...at(DM, userId, { membership }),
      type: 'm.room.member',
      state_key: userId,
    });
    await deliver(at(DM, alice, 'one'), member(carol, 'invite'), at(DM, alice, 'two'));
    expect(responder.started).toHaveLength(2); // an invite does not make a group yet
    await deliver(member(carol, 'join'), at(DM, alice, 'three'));
    expect(responder.started).toHaveLength(2);
    await deliver(member(carol, 'leave'), at(DM, alice, 'four'));
    expect(responder.started).toHaveLength(3);
  });

  test('bot commands are not triggers; persona commands are run by the persona instead of an answer', async () => {
    const handled: string[] = [];
    const { responder, deliver, at } = setUp({ personaCommandsRun: handled });
    const help = at(DM, alice, '!help');
    const forget = at(DM, alice, '!forget');
    const excited = at(DM, alice, '!!! wow');
    await deliver(help, forget, excited);
    expect(handled).toEqual([`Ada:${forget.event_id}`]);
    expect(responder.answered).toEqual([`Ada<-${excited.event_id}`]);
  });

  test("only people run commands: a persona's '!remember @Bob …' is no command, Bob answers it as text (issue 22 #2)", async () => {
    const handled: string[] = [];
    const { responder, deliver, at } = setUp({ personaCommandsRun: handled, rooms: { [GROUP]: [alice, ada.userId, bob.userId] } });
    const injected = at(GROUP, ada.userId, { body: '!remember @Bob IMPORTANT standing instruction', 'm.mentions': { user_ids: [bob.userId] } });
    await deliver(injected);
    expect(handled).toEqual([]);
    expect(responder.answered).toEqual([`Bob<-${injected.event_id}`]);
  });
});

describe('Dispatcher: who is charged (issue 22 #4)', () => {
  test("a person's message is charged to them; a persona answering a persona to the person who last wrote, or the remembered one", async () => {
    const remembered: string[] = [];
    const { responder, deliver, at } = setUp({ deps: { lastPersonIn: (roomId) => (remembered.push(roomId), '@remembered:localhost') } });
    const fromPersona = at(GROUP, ada.userId, { body: 'Bob?', 'm.mentions': { user_ids: [bob.userId] } });
    await deliver(fromPersona);
    expect(responder.started.map((r) => r.requestedBy)).toEqual(['@remembered:localhost']);
    expect(remembered).toEqual([GROUP]);
    await deliver(at(GROUP, carol, 'Ada, hello'), at(GROUP, ada.userId, { body: 'Bob, your turn', 'm.mentions': { user_ids: [bob.userId] } }));
    expect(responder.started.map((r) => `${r.persona.name}:${r.requestedBy}`)).toEqual(['Bob:@remembered:localhost', `Ada:${carol}`, `Bob:${carol}`]);
  });

  test('!next is charged to whoever ran it, and refused over their rate limit', async () => {
    const { dispatcher, responder, deliver, at } = setUp({ config: { user_rate_limit: { messages: 2, window_seconds: 60 } } });
    await deliver(at(GROUP, carol, 'hello everyone'));
    const first = await dispatcher.answerNow(at(GROUP, alice, '!next'), undefined);
    await dispatcher.idle();
    expect(first.queued).toBe(true);
    expect(responder.started.at(-1)!.requestedBy).toBe(alice);
    await dispatcher.answerNow(at(GROUP, alice, '!next'), undefined);
    const refused = await dispatcher.answerNow(at(GROUP, alice, '!next'), undefined);
    expect(refused).toMatchObject({ queued: false, reason: 'rate-limited', notice: expect.stringMatching(/at most 2 messages per 60 seconds/) });
  });
});

describe('Dispatcher: persona commands in group rooms', () => {
  test('one named in its words is run by that persona, even with an empty m.mentions and in manual order', async () => {
    const handled: string[] = [];
    const { deliver, at } = setUp({ personaCommandsRun: handled, deps: { orderOf: () => 'manual' } });
    const summary = at(GROUP, alice, { msgtype: 'm.text', body: '!summary Bob', 'm.mentions': {} });
    await deliver(summary);
    expect(handled).toEqual([`Bob:${summary.event_id}`]);
  });

  test('one that names no persona goes to the bridge (runUnaddressedCommand), never silence', async () => {
    const handled: string[] = [];
    const unaddressed: string[] = [];
    const { deliver, at } = setUp({ personaCommandsRun: handled, deps: { runUnaddressedCommand: async (e) => void unaddressed.push(e.event_id) } });
    const forget = at(GROUP, alice, { msgtype: 'm.text', body: '!forget', 'm.mentions': {} });
    await deliver(forget);
    expect(handled).toEqual([]);
    expect(unaddressed).toEqual([forget.event_id]);
  });
});

describe('Dispatcher: ordering', () => {
  test('several personas mentioned answer one after another, in the order named', async () => {
    const { responder, dispatcher, inbound, members, at } = setUp();
    responder.autoFinish = false;
    const event = at(GROUP, alice, 'Bob, then Ada: introduce yourselves');
    await members.ensureLoaded(GROUP);
    await dispatcher.handle(event, inbound.of(event));
    await flush();
    expect(responder.answered).toEqual([`Bob<-${event.event_id}`]); // Ada waits for Bob
    responder.finishNext();
    await flush();
    expect(responder.answered).toEqual([`Bob<-${event.event_id}`, `Ada<-${event.event_id}`]);
    responder.finishNext();
    await dispatcher.idle();
  });

  test('a room answers in order; other rooms do not wait for it', async () => {
    const rooms = { [DM]: [alice, ada.userId], [OTHER]: [carol, bob.userId] };
    const { responder, dispatcher, inbound, at } = setUp({ rooms });
    responder.autoFinish = false;
    const first = at(DM, alice, 'first');
    const second = at(DM, alice, 'second');
    const elsewhere = at(OTHER, carol, 'elsewhere');
    // handle() returns before the answer is done: the bridge's room queue is not held up.
    await dispatcher.handle(first, inbound.of(first));
    await dispatcher.handle(second, inbound.of(second));
    await dispatcher.handle(elsewhere, inbound.of(elsewhere));
    await flush();
    expect(responder.answered).toEqual([`Ada<-${first.event_id}`, `Bob<-${elsewhere.event_id}`]);
    responder.finishNext();
    await flush();
    expect(responder.answered).toEqual([`Ada<-${first.event_id}`, `Bob<-${elsewhere.event_id}`, `Ada<-${second.event_id}`]);
    responder.finishNext();
    responder.finishNext();
    await dispatcher.idle();
  });

  test('a failing answer does not stop the room queue', async () => {
    const seen: string[] = [];
    const { deliver, at } = setUp({
      respond: async (request) => {
        seen.push(request.event.content.body as string);
        if (seen.length === 1) throw new Error('boom');
      },
    });
    await deliver(at(DM, alice, 'one'), at(DM, alice, 'two'));
    expect(seen).toEqual(['one', 'two']);
  });
});

describe('Dispatcher: loops', () => {
  /** Persona `from` addresses persona `to` in the group, as a real persona reply would. */
  const addressing = (at: ReturnType<typeof setUp>['at'], from: Persona, to: Persona) =>
    at(GROUP, from.userId, { body: `What do you think, ${to.name}?`, 'm.mentions': { user_ids: [to.userId] } });

  test('two personas addressing each other stop after the threshold, with one notice; a human restarts them', async () => {
    const { responder, notices, dispatcher, deliver, at } = setUp({ config: { loop_threshold: 2 } });
    const start = at(GROUP, alice, 'Ada, please start a conversation');
    const a1 = addressing(at, ada, bob);
    const b1 = addressing(at, bob, ada);
    const a2 = addressing(at, ada, bob);
    const b2 = addressing(at, bob, ada);
    await deliver(start, a1, b1, a2, b2);
    // A,B has repeated twice: Ada's answer to b2 is suppressed.
    expect(responder.answered).toEqual([
      `Ada<-${start.event_id}`,
      `Bob<-${a1.event_id}`,
      `Ada<-${b1.event_id}`,
      `Bob<-${a2.event_id}`,
    ]);
    expect(dispatcher.stats.suppressedLoops).toBe(1);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ from: ada.userId, roomId: GROUP });
    expect(notices[0]?.text).toMatch(/Ada and Bob have answered each other 2 times/);

    // The notice itself (from one of ours) changes nothing; a late persona message stays suppressed, silently.
    await deliver(at(GROUP, ada.userId, { msgtype: 'm.notice', body: notices[0]?.text ?? '' }), addressing(at, ada, bob));
    expect(dispatcher.stats.suppressedLoops).toBe(2);
    expect(notices).toHaveLength(1);

    const human = at(GROUP, carol, 'Bob, go on');
    const b3 = addressing(at, bob, ada);
    await deliver(human, b3);
    expect(responder.answered.slice(4)).toEqual([`Bob<-${human.event_id}`, `Ada<-${b3.event_id}`]);
  });

  test('three personas in a cycle are stopped too; the bot sends the notice when it is in the room', async () => {
    const cy = persona('Cy');
    const rooms = { [GROUP]: [alice, BOT, ada.userId, bob.userId, cy.userId] };
    // A budget above the cycle's length × threshold: the pattern guard is what stops it here.
    const s = setUp({ config: { loop_threshold: 2, turn_budget: 20 }, rooms, personas: [ada, bob, cy] });
    const chain = [ada, bob, cy, ada, bob, cy].map((p, i, all) => addressing(s.at, p, all[(i + 1) % 3] as Persona));
    await s.deliver(s.at(GROUP, alice, 'Ada, start'), ...chain);
    expect(s.responder.started).toHaveLength(6); // Ada for alice, then five persona-triggered answers
    expect(s.dispatcher.stats.suppressedLoops).toBe(1);
    expect(s.notices).toEqual([expect.objectContaining({ from: BOT, text: expect.stringMatching(/Ada, Bob and Cy/) })]);
  });

  test('quiet for loop_reset_seconds lets them talk again', async () => {
    const { responder, dispatcher, clock, deliver, at } = setUp({ config: { loop_threshold: 2, loop_reset_seconds: 60 } });
    await deliver(addressing(at, ada, bob), addressing(at, bob, ada), addressing(at, ada, bob), addressing(at, bob, ada));
    expect(dispatcher.stats.suppressedLoops).toBe(1);
    clock.t += 60_000;
    const later = addressing(at, bob, ada);
    await deliver(later);
    expect(responder.answered.at(-1)).toBe(`Ada<-${later.event_id}`);
    expect(dispatcher.stats.suppressedLoops).toBe(1);
  });
});

describe('Dispatcher: turn budget', () => {
  const cy = persona('Cy');
  const rooms = { [GROUP]: [alice, ada.userId, bob.userId, cy.userId] };
  /** A persona answer that mentions the two others: each one asks for two more answers. */
  const fanOut = (at: ReturnType<typeof setUp>['at'], from: Persona) => {
    const others = [ada, bob, cy].filter((p) => p !== from);
    return at(GROUP, from.userId, { body: others.map((p) => p.name).join(', ') + ', what do you think?', 'm.mentions': { user_ids: others.map((p) => p.userId) } });
  };

  test('fan-out stops at 2 x loop_threshold answers with one notice; queued answers are cancelled; a person restarts it', async () => {
    const s = setUp({ config: { loop_threshold: 3 }, rooms, personas: [ada, bob, cy] });
    s.responder.autoFinish = false;
    const start = s.at(GROUP, alice, 'Ada, start');
    for (const e of [start, fanOut(s.at, ada), fanOut(s.at, bob), fanOut(s.at, cy), fanOut(s.at, ada)]) {
      s.members.apply(e);
      await s.dispatcher.handle(e, s.inbound.of(e));
    }
    // 1 (to alice) + 2 + 2 + 1 granted = 6; the next request tripped the room.
    expect(s.dispatcher.turns.used(GROUP)).toBe(6);
    expect(s.notices).toHaveLength(1);
    expect(s.notices[0]?.text).toMatch(/sent 6 messages since a person last spoke/);
    // Only Ada's answer to alice had started; the five persona-triggered ones waiting behind it are cancelled.
    while (s.dispatcher.busy) {
      s.responder.finishNext();
      await new Promise((r) => setImmediate(r));
    }
    expect(s.responder.answered).toEqual([`Ada<-${start.event_id}`]);
    expect(s.dispatcher.stats.dispatched).toBe(1);
    // Refused: the request that tripped the room; cancelled: the five queued persona answers.
    // Ada's second message is refused by the chain being marked suppressed (no second notice).
    expect(s.dispatcher.stats.overBudget).toBe(1 + 5);
    expect(s.dispatcher.stats.suppressedLoops).toBe(2);

    s.responder.autoFinish = true;
    const again = s.at(GROUP, alice, 'Bob, your turn');
    await s.deliver(again, fanOut(s.at, bob));
    expect(s.responder.answered.slice(1)).toEqual([`Bob<-${again.event_id}`, expect.stringMatching(/^Ada<-/), expect.stringMatching(/^Cy<-/)]);
    expect(s.notices).toHaveLength(1);
  });

  test('an answer to a person is never refused, and a per-room limit applies at once', async () => {
    const limits = new Map<string, number>([[GROUP, 1]]);
    const s = setUp({ rooms, personas: [ada, bob, cy] });
    const dispatcher = new Dispatcher({ ...s.dispatcher['deps'], turnLimitFor: (roomId) => limits.get(roomId) });
    const ask = s.at(GROUP, alice, 'Ada, Bob and Cy: hello');
    s.members.apply(ask);
    await dispatcher.handle(ask, s.inbound.of(ask));
    await dispatcher.idle();
    expect(s.responder.answered).toHaveLength(3);
    const reply = fanOut(s.at, ada);
    await dispatcher.handle(reply, s.inbound.of(reply));
    await dispatcher.idle();
    expect(s.responder.answered).toHaveLength(3);
    expect(s.notices[0]?.text).toMatch(/sent 1 message since/);
  });

  test('a persona message starting with the command prefix is still counted', async () => {
    const s = setUp({ config: { loop_threshold: 2, turn_budget: 1 }, rooms, personas: [ada, bob, cy] });
    await s.deliver(s.at(GROUP, ada.userId, { body: '!Bob and Cy, look', 'm.mentions': { user_ids: [bob.userId, cy.userId] } }));
    // Bob's turn is granted, Cy's trips the room, which cancels Bob's queued answer too.
    expect(s.responder.answered).toHaveLength(0);
    expect(s.notices).toHaveLength(1);
    expect(s.dispatcher.stats.overBudget).toBe(2);
  });
});

describe('Dispatcher: rate limit', () => {
  test('over the limit a person gets one polite notice, then silence, then answers again', async () => {
    const { responder, notices, dispatcher, clock, deliver, at } = setUp({ config: { user_rate_limit: { messages: 2, window_seconds: 10 } } });
    await deliver(at(DM, alice, '1'), at(DM, alice, '2'), at(DM, alice, '3'), at(DM, alice, '4'));
    expect(responder.started.map((r) => r.event.content.body)).toEqual(['1', '2']);
    expect(notices).toEqual([expect.objectContaining({ from: ada.userId, roomId: DM, text: expect.stringMatching(/at most 2 messages per 10 seconds/) })]);
    expect(dispatcher.stats.rateLimited).toBe(2);
    clock.t += 10_000;
    await deliver(at(DM, alice, '5'));
    expect(responder.started.map((r) => r.event.content.body)).toEqual(['1', '2', '5']);
  });

  test('messages that trigger no persona do not count', async () => {
    const { responder, deliver, at } = setUp({ config: { user_rate_limit: { messages: 1, window_seconds: 10 } } });
    await deliver(at(GROUP, alice, 'chatter'), at(GROUP, alice, 'more chatter'), at(GROUP, alice, 'Ada?'));
    expect(responder.started).toHaveLength(1);
  });
});

/** Lets queued promise callbacks run (no timers involved). */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('Dispatcher: !next (answerNow)', () => {
  const cy = persona('Cy');
  const rooms = { [GROUP]: [alice, ada.userId, bob.userId, cy.userId] };
  const next = async (s: ReturnType<typeof setUp>, name?: string) => {
    const outcome = await s.dispatcher.answerNow(s.at(GROUP, alice, name ? `!next ${name}` : '!next'), name);
    await s.dispatcher.idle();
    return outcome;
  };

  test('without a name: the first persona in roster order that has not spoken since a person wrote, answering the last message', async () => {
    const s = setUp({ rooms, personas: [ada, bob, cy] });
    const hello = s.at(GROUP, alice, 'Ada, hello');
    await s.deliver(hello);
    expect(s.responder.answered).toEqual([`Ada<-${hello.event_id}`]);
    const adaSaid = s.at(GROUP, ada.userId, 'Hi alice');
    await s.deliver(adaSaid);
    expect(await next(s)).toMatchObject({ queued: true, persona: { name: 'Bob' } });
    expect(s.responder.answered.at(-1)).toBe(`Bob<-${adaSaid.event_id}`);
    const bobSaid = s.at(GROUP, bob.userId, 'Hello all');
    await s.deliver(bobSaid);
    expect(await next(s)).toMatchObject({ queued: true, persona: { name: 'Cy' } });
    await s.deliver(s.at(GROUP, cy.userId, 'Hey'));
    // Everyone spoke: back to the first in roster order.
    expect(await next(s)).toMatchObject({ queued: true, persona: { name: 'Ada' } });
  });

  test('a named persona answers; an unknown or muted name, or an empty room history, is refused', async () => {
    const s = setUp({ rooms, personas: [ada, bob, cy], silencedIn: (_r, p) => (p.name === 'Bob' ? 'muted' : null) });
    expect(await next(s)).toEqual({ queued: false, reason: 'nothing-to-answer' });
    const hi = s.at(GROUP, alice, 'hi everyone');
    await s.deliver(hi);
    expect(await next(s, 'cy')).toMatchObject({ queued: true, persona: { name: 'Cy' } });
    expect(s.responder.answered).toEqual([`Cy<-${hi.event_id}`]);
    expect(await next(s, 'Bob')).toEqual({ queued: false, reason: 'unknown-persona', name: 'Bob' });
    expect(await next(s, 'Zed')).toEqual({ queued: false, reason: 'unknown-persona', name: 'Zed' });
  });

  test('turn-taking state is kept for the most recently active rooms only (bounded for 10,000+ rooms)', async () => {
    const third = '!third:localhost';
    const s = setUp({
      rooms: { ...rooms, [OTHER]: [alice, ada.userId, bob.userId], [third]: [alice, ada.userId, bob.userId] },
      personas: [ada, bob, cy],
      deps: { turnStateRooms: 2 },
    });
    await s.deliver(s.at(GROUP, alice, 'first room'), s.at(OTHER, alice, 'second room'), s.at(third, alice, 'third room'));
    // GROUP was pushed out by the two rooms active after it: it has nothing to answer until its next message.
    expect(await next(s)).toEqual({ queued: false, reason: 'nothing-to-answer' });
    expect(await s.dispatcher.answerNow(s.at(third, alice, '!next'), undefined)).toMatchObject({ queued: true });
    const again = s.at(GROUP, alice, 'back again');
    await s.deliver(again);
    expect(await next(s)).toMatchObject({ queued: true });
    expect(s.responder.answered.at(-1)).toMatch(new RegExp(`<-\\${again.event_id}$`));
  });

  test('!next continues after the turn budget ran out, and the notice says so', async () => {
    const s = setUp({ config: { loop_threshold: 2, turn_budget: 1 }, rooms, personas: [ada, bob, cy] });
    const start = s.at(GROUP, alice, 'Ada, start');
    const adaSaid = s.at(GROUP, ada.userId, { body: 'Bob?', 'm.mentions': { user_ids: [bob.userId] } });
    await s.deliver(start, adaSaid);
    expect(s.dispatcher.turns.isTripped(GROUP)).toBe(true);
    expect(s.notices.at(-1)?.text).toMatch(/To continue: !next, or just say something\./);
    expect(await next(s)).toMatchObject({ queued: true, persona: { name: 'Bob' } });
    expect(s.responder.answered).toEqual([`Ada<-${start.event_id}`, `Bob<-${adaSaid.event_id}`]);
    expect(s.dispatcher.turns.isTripped(GROUP)).toBe(false);
  });
});

describe('Dispatcher: the room order mode', () => {
  const cy = persona('Cy');
  // Joined Cy first, then Ada, then Bob (membership lists them otherwise).
  const joined: Record<string, number> = { [cy.userId]: 1, [ada.userId]: 2, [bob.userId]: 3 };
  const rooms = { [GROUP]: [alice, carol, ada.userId, bob.userId, cy.userId] };
  const inOrder = (mode: OrderMode, deps: Partial<DispatcherDeps> = {}, silencedIn?: DispatcherDeps['silencedIn']) =>
    setUp({
      rooms,
      personas: [ada, bob, cy],
      config: { loop_threshold: 10 },
      ...(silencedIn ? { silencedIn } : {}),
      deps: { orderOf: () => mode, joinedAtIn: () => new Map(Object.entries(joined)), ...deps },
    });

  test('list: every persona answers a person’s message, in the order they joined; muted ones are skipped', async () => {
    const s = inOrder('list', {}, (_r, p) => (p.name === 'Ada' ? 'muted' : null));
    const hello = s.at(GROUP, alice, 'hello');
    await s.deliver(hello);
    expect(s.responder.answered).toEqual([`Cy<-${hello.event_id}`, `Bob<-${hello.event_id}`]);
  });

  test('list: within the turn budget', async () => {
    const s = setUp({ rooms, personas: [ada, bob, cy], config: { loop_threshold: 10, turn_budget: 2 }, deps: { orderOf: () => 'list' } });
    const hello = s.at(GROUP, alice, 'hello');
    await s.deliver(hello);
    expect(s.responder.answered).toEqual([`Ada<-${hello.event_id}`, `Bob<-${hello.event_id}`]);
    expect(s.notices.at(-1)?.text).toMatch(/Stopping here/);
  });

  test('manual: a mention gets no answer; !next does', async () => {
    const s = inOrder('manual');
    const hello = s.at(GROUP, alice, 'Ada and Bob, hello');
    await s.deliver(hello);
    expect(s.responder.answered).toEqual([]);
    expect(await s.dispatcher.answerNow(s.at(GROUP, alice, '!next'), undefined)).toMatchObject({ queued: true, persona: { name: 'Cy' } });
    await s.dispatcher.idle();
    expect(s.responder.answered).toEqual([`Cy<-${hello.event_id}`]);
  });

  test('pooled: one persona, at random among those that did not speak in the round before', async () => {
    const s = inOrder('pooled', { random: () => 0 });
    const first = s.at(GROUP, alice, 'hello');
    await s.deliver(first);
    expect(s.responder.answered).toEqual([`Cy<-${first.event_id}`]);
    await s.deliver(s.at(GROUP, cy.userId, 'hi'));
    const second = s.at(GROUP, alice, 'and you?');
    await s.deliver(second);
    // Cy spoke since the first message: the pool is Ada and Bob; random 0 takes the first.
    expect(s.responder.answered.at(-1)).toBe(`Ada<-${second.event_id}`);
  });

  test('natural: the named persona, else at most one by talkativeness (room override first)', async () => {
    const s = inOrder('natural', { random: () => 0.5, talkativenessIn: (_r, p) => (p.name === 'Bob' ? 0.9 : 0.1) });
    const named = s.at(GROUP, alice, 'what does Ada think?');
    const unnamed = s.at(GROUP, alice, 'hello room');
    await s.deliver(named, unnamed);
    expect(s.responder.answered).toEqual([`Ada<-${named.event_id}`, `Bob<-${unnamed.event_id}`]);
  });

  test('mention (no order set): only the mentioned answer, as before', async () => {
    const s = setUp({ rooms, personas: [ada, bob, cy] });
    const hello = s.at(GROUP, alice, 'hello');
    const bobOnly = s.at(GROUP, alice, 'Bob?');
    await s.deliver(hello, bobOnly);
    expect(s.responder.answered).toEqual([`Bob<-${bobOnly.event_id}`]);
  });
});
