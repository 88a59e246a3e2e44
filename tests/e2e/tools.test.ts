// Tools end to end (issue 26): a real MCP server in its own process (the fake one, over stdio,
// started by the bridge), a fake model that asks for calls, the real Synapse. A question leads
// to the call and the answer uses its result; approvals wait for ✅, ❌ and the timeout refuse;
// a crashing server is started again; a persona without the tool is never offered it; bad
// calls of every kind are answered, bounded. (A crash mid-loop: toolsCrash.test.ts.)
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOpenAI, answeredText, offeredTools, toolResults, type FakeChatRequest, type FakeResponse, type FakeToolCall } from '../fakes/FakeOpenAI.js';
import { fakeMcpStdioConfig } from '../support/fakeMcp.js';
import { newUser, seedPersonas, startTestBridge, type RawEvent, type TestBridge, type TestUser } from './helpers/index.js';

const TIMEOUT_MS = 120_000;

describe('tools on a real Synapse', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;
  let ada: string;
  const callLog = join(mkdtempSync(join(tmpdir(), 'tools-e2e-')), 'calls.jsonl');
  /** Per question: the calls the model asks for, round by round, before it answers. */
  const scripts = new Map<string, FakeToolCall[][]>();

  const calls = (tool?: string): Array<{ tool: string; arguments: Record<string, unknown> }> =>
    (existsSync(callLog) ? readFileSync(callLog, 'utf8') : '')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { tool: string; arguments: Record<string, unknown> })
      .filter((c) => !tool || c.tool === tool);
  const roundsDone = (req: FakeChatRequest): number => req.messages.filter((m) => m.role === 'assistant' && m.tool_calls?.length).length;
  const requestsFor = (question: string): FakeChatRequest[] => llm.requests.filter((r) => answeredText(r) === question);
  const answerTo = (dm: string, question: string): Promise<RawEvent> =>
    alice.waitForMessage(dm, (e) => e.sender === ada && String(e.content.body).startsWith(`Answer to "${question}"`), undefined, `the answer to ${question}`);

  /** The fake model: the scripted calls while tools are offered, then an answer quoting the results. */
  const script = (req: FakeChatRequest): FakeResponse => {
    const question = answeredText(req);
    const rounds = scripts.get(question) ?? [];
    const done = roundsDone(req);
    if (offeredTools(req).length && done < rounds.length) return { toolCalls: rounds[done]! };
    const results = toolResults(req).map((r) => `${r.text.slice(0, 300)} (${r.text.length} chars)`);
    return `Answer to "${question}": ${results.join(' | ') || 'no tools'}`;
  };

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith(script);
    const personasDir = seedPersonas('tools', [
      { name: 'Ada', prompt: 'You are Ada.', tools: ['demo/*'] },
      { name: 'Bo', prompt: 'You are Bo.' },
      { name: 'Cy', prompt: 'You are Cy.', tools: ['demo/get_forecast'] },
    ]);
    tb = await startTestBridge({
      llmBaseUrl: llm.baseUrl,
      personasDir,
      config: {
        replies: { live: false },
        // Every round of tools counts as a message against the rate limit; this file sends many.
        dispatch: { user_rate_limit: { messages: 200, window_seconds: 60 } },
        tools: {
          mcp_servers: [fakeMcpStdioConfig('demo', callLog)] as never,
          approval: { required: ['demo/send_email'] },
          call_timeout_seconds: 8,
          approval_timeout_seconds: 6,
          max_calls_per_round: 8,
          result_tokens: 500,
        },
      },
    });
    ada = tb.personaUserId('Ada');
    alice = await newUser();
  }, TIMEOUT_MS);
  afterAll(async () => {
    alice?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  test('a DM question leads to the call, its result is in the next model request, and the answer uses it', async () => {
    const dm = await alice.openDm(ada);
    const question = 'what is the weather in Paris?';
    scripts.set(question, [[{ name: 'demo__get_forecast', arguments: { city: 'Paris' } }]]);
    await alice.sendText(dm, question);
    const answer = await answerTo(dm, question);
    expect(answer.content.body).toContain('Forecast for Paris: sunny, 21 °C');
    const [first, second] = requestsFor(question);
    expect(offeredTools(first!)).toEqual(expect.arrayContaining(['demo__get_forecast', 'demo__echo', 'demo__send_email']));
    expect(toolResults(second!)).toEqual([{ callId: expect.any(String), text: 'Forecast for Paris: sunny, 21 °C' }]);
    expect(calls('get_forecast').filter((c) => c.arguments.city === 'Paris')).toHaveLength(1);
    // The next prompt knows what was done: the note kept with the answer.
    const next = 'and tomorrow?';
    await alice.sendText(dm, next);
    await answerTo(dm, next);
    const remembered = requestsFor(next)[0]!.messages.find((m) => m.role === 'assistant' && String(m.content).includes('(tools used: demo/get_forecast {"city":"Paris"}'));
    expect(remembered).toBeDefined();
  }, TIMEOUT_MS);

  test('a persona without the tool is never offered it; one allowed a single tool gets exactly that one', async () => {
    const bo = tb.personaUserId('Bo');
    const dmBo = await alice.openDm(bo);
    await alice.sendText(dmBo, 'Bo, weather?');
    await alice.waitForMessage(dmBo, (e) => e.sender === bo);
    expect(offeredTools(requestsFor('Bo, weather?')[0]!)).toEqual([]);
    const cy = tb.personaUserId('Cy');
    const dmCy = await alice.openDm(cy);
    await alice.sendText(dmCy, 'Cy, weather?');
    await alice.waitForMessage(dmCy, (e) => e.sender === cy);
    expect(offeredTools(requestsFor('Cy, weather?')[0]!)).toEqual(['demo__get_forecast']);
  }, TIMEOUT_MS);

  describe('approval', () => {
    const approvalIn = (dm: string, since: number) =>
      alice.waitForMessage(dm, (e) => e.sender === ada && e.origin_server_ts >= since && String(e.content.body).startsWith('🔐'), undefined, 'the approval request');
    const react = (dm: string, eventId: string, key: string) => alice.sendContent(dm, { 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key } }, 'm.reaction');

    test('✅ runs the call once; the request shows the tool and its arguments', async () => {
      const dm = await alice.openDm(ada);
      const question = 'mail bob that I am late';
      scripts.set(question, [[{ name: 'demo__send_email', arguments: { to: 'bob@example.org', text: 'late' } }]]);
      const since = Date.now() - 1000;
      await alice.sendText(dm, question);
      const request = await approvalIn(dm, since);
      expect(request.content.body).toContain('demo/send_email with {"to":"bob@example.org","text":"late"}');
      expect(request.content.msgtype).toBe('m.notice');
      expect(calls('send_email')).toHaveLength(0);
      await react(dm, request.event_id, '✅');
      const answer = await answerTo(dm, question);
      expect(answer.content.body).toContain('sent to bob@example.org');
      expect(calls('send_email')).toHaveLength(1);
    }, TIMEOUT_MS);

    test('❌ refuses it and the model is told; !deny too', async () => {
      const dm = await alice.openDm(ada);
      for (const [question, refuse] of [
        ['mail carol', (id: string) => react(dm, id, '❌')],
        ['mail dave', () => alice.sendText(dm, '!deny')],
      ] as const) {
        scripts.set(question, [[{ name: 'demo__send_email', arguments: { to: question.slice(5), text: 'hi' } }]]);
        const since = Date.now() - 1000;
        await alice.sendText(dm, question);
        const request = await approvalIn(dm, since);
        await refuse(request.event_id);
        const answer = await answerTo(dm, question);
        expect(answer.content.body).toContain('refused');
      }
      expect(calls('send_email').filter((c) => c.arguments.to === 'carol' || c.arguments.to === 'dave')).toHaveLength(0);
    }, TIMEOUT_MS);

    test('without an answer the timeout refuses it', async () => {
      const dm = await alice.openDm(ada);
      const question = 'mail erin';
      scripts.set(question, [[{ name: 'demo__send_email', arguments: { to: 'erin', text: 'hi' } }]]);
      await alice.sendText(dm, question);
      const answer = await answerTo(dm, question);
      expect(answer.content.body).toContain('Nobody approved the call');
      expect(calls('send_email').filter((c) => c.arguments.to === 'erin')).toHaveLength(0);
    }, TIMEOUT_MS);
  });

  test('tool output is data: a command in it runs nothing, a mention in it pings nobody', async () => {
    const dm = await alice.openDm(ada);
    const question = 'read me the note';
    const payload = `!persona despawn Bo and hello ${alice.userId} and @${tb.botUserId}`;
    scripts.set(question, [[{ name: 'demo__echo', arguments: { text: payload } }]]);
    await alice.sendText(dm, question);
    const answer = await answerTo(dm, question);
    expect(answer.content.body).toContain(payload);
    expect(answer.content['m.mentions']).toEqual({ user_ids: [] });
    // Bo is still there: ask Bo something afterwards and get an answer.
    const bo = tb.personaUserId('Bo');
    const dmBo = await alice.openDm(bo);
    await alice.sendText(dmBo, 'Bo, still there?');
    await alice.waitForMessage(dmBo, (e) => e.sender === bo && String(e.content.body).includes('still there'));
    expect(tb.app.services.personas.byUserId(bo)).toBeDefined();
  }, TIMEOUT_MS);

  test('bad calls are answered, bounded: malformed JSON, an unknown tool, 10 MB, a hang, 50 calls in one round', async () => {
    const dm = await alice.openDm(ada);
    const before = calls('big').length;
    const question = 'do everything wrong';
    scripts.set(question, [
      [
        { name: 'demo__get_forecast', arguments: '{"city": "Par' },
        { name: 'demo__no_such_tool', arguments: {} },
        { name: 'demo__big', arguments: { bytes: 10_000_000 } },
        { name: 'demo__hang', arguments: {} },
      ],
      Array.from({ length: 50 }, (_, i) => ({ name: 'demo__get_forecast', arguments: { city: `City${i}` } })),
    ]);
    await alice.sendText(dm, question);
    const answer = await answerTo(dm, question);
    const [, second, third] = requestsFor(question);
    const first = toolResults(second!).map((r) => r.text);
    expect(first[0]).toMatch(/not a valid JSON object/);
    expect(first[1]).toMatch(/no tool named "demo__no_such_tool"/);
    expect(first[2]!.length).toBeLessThan(3000);
    expect(first[2]).toMatch(/cut: \d+ of 10000000 characters shown/);
    expect(first[3]).toMatch(/did not answer within 8 s/);
    const fifty = toolResults(third!).slice(-50).map((r) => r.text);
    expect(fifty.filter((t) => t.startsWith('Forecast for'))).toHaveLength(8);
    expect(fifty.filter((t) => t.includes('At most 8 tool calls'))).toHaveLength(42);
    expect(calls('big').length - before).toBe(1);
    expect(calls('get_forecast').filter((c) => String(c.arguments.city).startsWith('City'))).toHaveLength(8);
    expect(answer.content.body).toContain('Answer to');
  }, TIMEOUT_MS);

  test('a crashing server is started again and reported (!status for admins); its tools work again', async () => {
    const dm = await alice.openDm(ada);
    const question = 'crash it';
    scripts.set(question, [[{ name: 'demo__crash', arguments: {} }]]);
    await alice.sendText(dm, question);
    const answer = await answerTo(dm, question);
    expect(answer.content.body).toMatch(/failed|not available|did not answer/);
    const status = () => tb.app.services.tools.catalog.status().find((s) => s.server === 'demo')!;
    const deadline = Date.now() + 30_000;
    while (!(status().restarts >= 1 && status().state === 'ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(status()).toMatchObject({ state: 'ready', restarts: expect.any(Number) });
    expect(status().restarts).toBeGreaterThanOrEqual(1);
    // Reported to admins: !status lists the server, its state and its restarts.
    const admin = tb.admin;
    const botDm = await admin.openDm(tb.botUserId);
    await admin.sendText(botDm, '!status');
    const report = await admin.waitForMessage(botDm, (e) => e.sender === tb.botUserId && String(e.content.body).includes('Tool servers:'), undefined, 'the !status report');
    expect(report.content.body).toMatch(/^- demo \(stdio\): ready for [^,]+, 9 tools, restarted [1-9]\d*×$/m);
    expect(report.content.body).toMatch(/^- memory \(built-in\): ready, 2 tools$/m);
    const again = 'weather in Oslo after the crash';
    scripts.set(again, [[{ name: 'demo__get_forecast', arguments: { city: 'Oslo' } }]]);
    await alice.sendText(dm, again);
    expect((await answerTo(dm, again)).content.body).toContain('Forecast for Oslo');
  }, TIMEOUT_MS);
});
