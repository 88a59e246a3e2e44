// Personas on a real model server: llama.cpp's llama-server (scripts/llama.sh) with the tiny
// generated model and a 512-token context, on the real Synapse. The model's words are
// gibberish, so these tests check what the bridge does with a real server's behaviour
// (context limits, streaming, usage reporting), never what the model says.


import { join } from 'node:path';
import { freePort } from '../support/freePort.js';
import { FakeOpenAI } from '../fakes/FakeOpenAI.js';
import { startLlama, type LlamaServer } from '../harness/llama.js';
import { newUser, seedPersonas, startTestBridge, type DeepPartial, type RawEvent, type TestBridge, type TestUser } from './helpers/index.js';
import { readState } from './helpers/state.js';
import type { BridgeConfig } from '../../src/config/Config.js';

const CONTEXT = 512;
/** What the local stack has the demo model's personas say once per room (llm.notice). */
const DEMO_NOTICE = 'I run on a demo model that writes nonsense.';
const TIMEOUT_MS = 120_000;

/** The series of the bridge's /metrics as `series -> value`. */
async function scrape(tb: TestBridge): Promise<Map<string, number>> {
  const text = await (await fetch(`${tb.appserviceUrl}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Sends `text` and resolves with the persona's first message after it (the demo notice aside). */
async function askPersona(user: TestUser, persona: string, roomId: string, text: string): Promise<RawEvent> {
  const sent = await user.sendText(roomId, text);
  return user.waitForMessage(
    roomId,
    (e) => {
      const events = user.events(roomId);
      const at = events.findIndex((x) => x.event_id === sent);
      return e.sender === persona && at >= 0 && events.indexOf(e) > at && e.content.body !== DEMO_NOTICE;
    },
    60_000,
    `${persona}'s answer to "${text.slice(0, 40)}"`,
  );
}


/**
 * One describe's world: a llama-server on its own port, a bridge whose only persona Ada talks
 * to it (configured by `config`), and Alice; started before its tests and stopped after them.
 */
function llamaWithAda(
  dataName: string,
  prompt: string,
  config: (llama: LlamaServer) => DeepPartial<BridgeConfig>,
): { llama: LlamaServer; tb: TestBridge; alice: TestUser; ada: string } {
  const fx = {} as { llama: LlamaServer; tb: TestBridge; alice: TestUser; ada: string };
  beforeAll(async () => {
    fx.llama = await startLlama({ dataDir: join(readState().runDir, dataName), port: await freePort(), context: CONTEXT });
    const personasDir = seedPersonas('llama', [{ name: 'Ada', prompt }]);
    fx.tb = await startTestBridge({ llmBaseUrl: fx.llama.baseUrl, personasDir, config: config(fx.llama) });
    fx.ada = fx.tb.personaUserId('Ada');
    fx.alice = await newUser();
  }, TIMEOUT_MS);
  afterAll(async () => {
    fx.alice?.stop();
    await fx.tb?.stop();
    await fx.llama?.stop();
  });
  return fx;
}

describe('personas on a real llama.cpp server (context 512)', () => {
  // The bridge's defaults (memory.context_tokens 4096, llm.max_tokens 1024), as a new user
  // would run it; only the endpoint and a CI-friendly timeout are set.
    // The per-user rate limit (20 a minute) would answer the long conversation with a notice.
  // llm.notice as the local stack sets it for its demo model.
  const fx = llamaWithAda('llama-main', 'You are Ada, a patient maths tutor who loves long explanations.', (llama) => ({ llm: { model: llama.model, timeout_seconds: 30, max_retries: 1, max_tokens: 1024, notice: DEMO_NOTICE }, dispatch: { user_rate_limit: { messages: 1000 } } }));


  const ask = (roomId: string, text: string): Promise<RawEvent> => askPersona(fx.alice, fx.ada, roomId, text);

  test(
    'two DMs in a row are both answered (the second used to exceed the 512-token context: HTTP 400)',
    async () => {
      const roomId = await fx.alice.openDm(fx.ada);
      const first = await ask(roomId, 'Hello Ada, can you explain fractions to me?');
      expect(first.content.msgtype).toBe('m.text');
      const second = await ask(roomId, 'And what about decimals?');
      expect(second.content.msgtype).toBe('m.text');
    },
    TIMEOUT_MS,
  );

  test(
    '30 DMs in a row in one room with long answers: 30 m.text answers (streamed), no failure notice, prompts counted by the server, usage recorded',
    async () => {
      const roomId = await fx.alice.openDm(fx.ada);
      const before = fx.tb.app.services.llm.stats();
      for (let i = 1; i <= 30; i++) {
        const answer = await ask(roomId, `Message ${i}: tell me more about prime numbers, 素数, and 🧮 please, at length.`);
        // A notice's text says what went wrong: show it rather than just its msgtype.
        expect({ i, answer: answer.content.msgtype === 'm.text' ? 'm.text' : answer.content.body }).toEqual({ i, answer: 'm.text' });
        expect(String(answer.content.body).length).toBeGreaterThan(0);
      }
      const after = fx.tb.app.services.llm.stats();
      // The prompts were measured by llama-server's own tokenizer (its chat template applied).
      expect(fx.tb.app.services.llm.client('default')!.serverTokenizer).toBe('llama.cpp');
      // The demo model says so once in the room, right after the first answer: every notice of
      // answers 1 to 29 is in the timeline before the 30th answer.
      const events = fx.alice.events(roomId);
      const lastAnswer = events.findLastIndex((e) => e.sender === fx.ada && e.content.msgtype === 'm.text');
      const notices = events.slice(0, lastAnswer).filter((e) => e.sender === fx.ada && e.content.msgtype === 'm.notice');
      expect(notices.map((e) => e.content.body)).toEqual([DEMO_NOTICE]);
      // How often the context still filled up (each answered anyway: cut and marked, or retried
      // smaller); reported, not asserted: a model with random weights writes what it writes.
      const cutShort = fx.alice.events(roomId).filter((e) => e.sender === fx.ada && /\(cut short: /.test(String(e.content.body ?? ''))).length;
      process.stdout.write(`llama 30 DMs: ${after.contextExceeded - before.contextExceeded} context exceeded (${cutShort} answers cut short), ${after.retries - before.retries} retries, ${after.failures - before.failures} failures\n`);
      // The real server's counts, from its final streamed usage chunk (stream_options.include_usage).
      expect(after.promptTokens - before.promptTokens).toBeGreaterThan(30 * 50);
      expect(after.completionTokens - before.completionTokens).toBeGreaterThanOrEqual(30);
      await fx.tb.app.services.dispatcher.idle();
      const metrics = await scrape(fx.tb);
      // Per persona, answers only (the client's totals also count background summaries).
      const answerTokens = metrics.get(`personas_llm_tokens_total{persona="${fx.ada}",direction="in"}`) ?? 0;
      expect(answerTokens).toBeGreaterThan(30 * 50);
      expect(answerTokens).toBeLessThanOrEqual(after.promptTokens);
      expect(metrics.get(`personas_llm_tokens_total{persona="${fx.ada}",direction="out"}`)).toBeGreaterThan(0);
      expect(after.failures).toBe(0);
    },
    5 * TIMEOUT_MS,
  );
});

describe('a llama.cpp server whose context is smaller than configured (llm.context 4096 on -c 512)', () => {
  // Not streamed: the plain completions path against the real server.
  const fx = llamaWithAda('llama-wrong-context', 'You are Ada.', (llama) => ({ llm: { model: llama.model, timeout_seconds: 30, max_retries: 0, max_tokens: 48, context: 4096, stream: false } }));

  test(
    'a prompt the server refuses as too long is rebuilt for the context it reported and answered (counted, logged)',
    async () => {
      const roomId = await fx.alice.openDm(fx.ada);
      // ~900 real tokens of history: far over 512, well under the configured 4096.
      const long = 'The quick brown fox jumps over the lazy dog near the riverbank every morning. '.repeat(12);
      const answers: RawEvent[] = [];
      for (let i = 0; i < 6; i++) answers.push(await askPersona(fx.alice, fx.ada, roomId, `${i}: ${long}`));
      const stats = fx.tb.app.services.llm.stats();
      expect(stats.contextExceeded).toBeGreaterThanOrEqual(1);
      expect(stats.failures).toBe(0);
      expect(answers.map((e) => (e.content.msgtype === 'm.text' ? 'm.text' : e.content.body))).toEqual(Array(6).fill('m.text'));
      // The server really refused one (the error shape the client classified).
      expect(await fx.llama.log()).toMatch(/exceeds the available context size/);
      const metrics = await scrape(fx.tb);
      expect(metrics.get(`personas_llm_context_exceeded_total{backend="default",model="${fx.llama.model}"}`)).toBe(stats.contextExceeded);
    },
    5 * TIMEOUT_MS,
  );
});

describe('named backends: a fake OpenAI endpoint as the default, the real llama-server as "local"', () => {
  let llama: LlamaServer;
  let fake: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;

  beforeAll(async () => {
    llama = await startLlama({ dataDir: join(readState().runDir, 'llama-backends'), port: await freePort(), context: CONTEXT });
    fake = (await FakeOpenAI.start()).respondWith('Answer from the default backend.');
    const personasDir = seedPersonas('llama', [{ name: 'Ada', prompt: 'You are Ada.', model: 'local' }, { name: 'Bob', prompt: 'You are Bob.' }, { name: 'Cy', prompt: 'You are Cy.', model: 'gone-model' }]);
    tb = await startTestBridge({
      llmBaseUrl: fake.baseUrl,
      personasDir,
      config: {
        llm: { model: 'fake-model', timeout_seconds: 30, max_retries: 0, backends: { local: { base_url: llama.baseUrl, model: llama.model, concurrency: 1 } } },
      },
    });
    alice = await newUser();
  }, TIMEOUT_MS);
  afterAll(async () => {
    alice?.stop();
    await tb?.stop();
    await fake?.stop();
    await llama?.stop();
  });

  async function dm(persona: string): Promise<string> {
    const roomId = await alice.openDm(persona);
    return roomId;
  }

  test(
    'each persona is answered by its backend; a failing model is named in the notice',
    async () => {
      const ada = tb.personaUserId('Ada');
      const bob = tb.personaUserId('Bob');
      const cy = tb.personaUserId('Cy');
      const fromLocal = await askPersona(alice, ada, await dm(ada), 'Hello Ada');
      expect(fromLocal.content.msgtype).toBe('m.text');
      expect(fromLocal.content.body).not.toBe('Answer from the default backend.');
      const fromDefault = await askPersona(alice, bob, await dm(bob), 'Hello Bob');
      expect(fromDefault.content.body).toBe('Answer from the default backend.');
      // Only Bob's request reached the fake: Ada's went to llama-server.
      expect(fake.requests.map((r) => r.model)).toEqual(['fake-model']);

      fake.enqueue({ status: 404, message: 'model "gone-model" not found' });
      const notice = await askPersona(alice, cy, await dm(cy), 'Hello Cy');
      expect(notice.content).toMatchObject({ msgtype: 'm.notice', body: "I can't think right now — the model endpoint refused the request (HTTP 404, model gone-model)." });
    },
    TIMEOUT_MS,
  );
});

describe('usage accounting on the real llama-server: tokens per persona, room and user; !usage; a daily cap', () => {
  // A cap any single answer crosses: the first answer completes, the next is refused.
  const fx = llamaWithAda('llama-usage', 'You are Ada.', (llama) => ({ llm: { model: llama.model, timeout_seconds: 30, max_retries: 0, max_tokens: 32 }, usage: { user_daily_tokens: 50 } }));

  test(
    'the answer is recorded with the server-reported tokens; past the cap one clear notice; !usage shows it',
    async () => {
      const roomId = await fx.alice.openDm(fx.ada);
      const answer = await askPersona(fx.alice, fx.ada, roomId, 'Hello Ada, how are you?');
      expect(answer.content.msgtype).toBe('m.text');
      const stats = fx.tb.app.services.llm.stats();
      const capped = await askPersona(fx.alice, fx.ada, roomId, 'And again?');
      expect(capped.content).toMatchObject({
        msgtype: 'm.notice',
        body: "You have reached your daily allowance of 50 tokens with the personas here, so I can't answer you until tomorrow. It resets at midnight UTC. Send !usage to see your usage.",
      });
      // The refused message never reached the model.
      expect(fx.tb.app.services.llm.stats().requests).toBe(stats.requests);

      const botRoom = await fx.alice.openDm(fx.tb.botUserId);
      const reply = await askPersona(fx.alice, fx.tb.botUserId, botRoom, '!usage');
      const total = stats.promptTokens + stats.completionTokens;
      expect(reply.content.body).toMatch(new RegExp(`^Your usage today \\(\\d{4}-\\d\\d-\\d\\d, UTC\\): ${total.toLocaleString('en')} tokens \\(${stats.promptTokens.toLocaleString('en')} in, ${stats.completionTokens} out\\) in 1 answer\\.`));
      expect(reply.content.body).toContain('Your daily allowance is 50 tokens.');

      // The admin's view: per persona, with the backend/model the real server answered as.
      const adminReply = await askPersona(fx.tb.admin, fx.tb.botUserId, await fx.tb.admin.openDm(fx.tb.botUserId), '!usage');
      expect(adminReply.content.body).toContain(`Per persona today:\n- Ada (${fx.ada}): ${total.toLocaleString('en')} tokens`);
      expect(adminReply.content.body).toContain(`Per backend/model, last 7 days:\n- default/${fx.llama.model}: `);
      expect(adminReply.content.body).toContain(`Top users, last 7 days:\n- ${fx.alice.userId}: `);
    },
    TIMEOUT_MS,
  );
});
