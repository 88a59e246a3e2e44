// A crash in the middle of a tool loop (issue 26): the built bridge in a process of its own,
// with the fake MCP server it starts over stdio, is killed with SIGKILL while an answer runs
// its tools, then started again on the same database. Each message is answered once, and no
// tool runs twice: a finished call's recorded result is reused, a call that was running when
// the bridge died is reported to the model as interrupted, not run again.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FakeOpenAI, answeredText, offeredTools, toolResults, type FakeChatRequest, type FakeResponse } from '../fakes/FakeOpenAI.js';
import { fakeMcpStdioConfig } from '../support/fakeMcp.js';
import { builtBridgeConfig, claimSlot, newUser, readState, writeBridgeConfig, type TestUser } from './helpers/index.js';
import { killableBridge } from './helpers/bridgeProcess.js';

describe('kill -9 during a tool loop (built bridge, real MCP server, real Synapse)', () => {
  const state = readState();
  const slot = claimSlot();
  const dir = mkdtempSync(join(tmpdir(), 'personas-tools-crash-'));
  const personasDir = mkdtempSync(join(dir, 'personas-'));
  writeFileSync(join(personasDir, 'ada.yaml'), stringify({ name: 'Ada', prompt: 'You are Ada.', tools: ['demo/*'] }));
  const ada = `@${slot.personaPrefix}ada:${state.domain}`;
  const configPath = join(dir, 'config.yaml');
  const callLog = join(dir, 'calls.jsonl');
  let llm: FakeOpenAI;
  const bridge = killableBridge(['-c', configPath, '-f', slot.registrationFile]);
  let user: TestUser;
  /** The model's behaviour per question, round by round (0: the first request). */
  const script = new Map<string, (round: number, req: FakeChatRequest) => FakeResponse>();

  const calls = (tool: string) =>
    (existsSync(callLog) ? readFileSync(callLog, 'utf8') : '')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { tool: string; arguments: Record<string, unknown> })
      .filter((c) => c.tool === tool);
  const roundOf = (req: FakeChatRequest) => req.messages.filter((m) => m.role === 'assistant' && m.tool_calls?.length).length;
  const answer = (req: FakeChatRequest): string => `Answer to "${answeredText(req)}": ${toolResults(req).map((r) => r.text).join(' | ')}`;
  const answersTo = (roomId: string, question: string) => user.events(roomId).filter((e) => e.sender === ada && String(e.content.body).startsWith(`Answer to "${question}"`));

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith((req) => {
      const step = script.get(answeredText(req));
      return step ? step(roundOf(req), req) : answer(req);
    });
    writeBridgeConfig(
      dir,
      builtBridgeConfig({
        slot,
        databasePath: join(dir, 'data', 'personas.db'),
        personasDir,
        llmBaseUrl: llm.baseUrl,
        llm: { max_retries: 0, timeout_seconds: 60 },
        sections: { replies: { live: false }, tools: { mcp_servers: [fakeMcpStdioConfig('demo', callLog)], call_timeout_seconds: 60 } },
      }),
    );
    await bridge.start();
    user = await newUser();
  }, 120_000);

  afterAll(async () => {
    user?.stop();
    await bridge.stop();
    await llm?.stop();
  });

  /** Answered, then a marker answered after it: nothing more can still come for it. */
  async function expectAnsweredOnce(roomId: string, question: string): Promise<string> {
    const first = await user.waitForMessage(roomId, () => answersTo(roomId, question).length > 0, 60_000, `the answer to "${question}"`);
    const marker = `marker ${Date.now()}`;
    await user.sendText(roomId, marker);
    await user.waitForMessage(roomId, () => answersTo(roomId, marker).length > 0, 60_000, 'the marker answer');
    expect(answersTo(roomId, question)).toHaveLength(1);
    return String(answersTo(roomId, question)[0]?.content.body ?? first.content.body);
  }

  // One kill for both cases (each start of the built bridge costs seconds): one answer is past
  // a finished call, the other inside a running one, when the bridge dies.
  test('killed with one call finished and another running: each answered once, neither tool run again, the running one reported as interrupted', async () => {
    const finishedRoom = await user.openDm(ada);
    const runningRoom = await user.openDm(ada);
    const finished = 'weather in Lima';
    const running = 'run the slow one';
    let hung = false;
    script.set(finished, (round, req) => {
      if (round === 0 && offeredTools(req).length) return { toolCalls: [{ name: 'demo__get_forecast', arguments: { city: 'Lima' } }] };
      if (!hung) {
        hung = true;
        return { hang: true };
      }
      return answer(req);
    });
    script.set(running, (round, req) => (round === 0 && offeredTools(req).length ? { toolCalls: [{ name: 'demo__hang', arguments: {} }] } : answer(req)));
    await user.sendText(finishedRoom, finished);
    await user.sendText(runningRoom, running);
    const deadline = Date.now() + 60_000;
    while (!(hung && calls('hang').length > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(calls('get_forecast')).toHaveLength(1);
    expect(calls('hang')).toHaveLength(1);
    await bridge.kill();
    await bridge.start();
    const [lima, slow] = await Promise.all([expectAnsweredOnce(finishedRoom, finished), expectAnsweredOnce(runningRoom, running)]);
    expect(lima).toContain('Forecast for Lima: sunny, 21 °C');
    expect(slow).toContain('restarted while this call was running');
    expect(calls('get_forecast')).toHaveLength(1);
    expect(calls('hang')).toHaveLength(1);
  }, 240_000);
});
