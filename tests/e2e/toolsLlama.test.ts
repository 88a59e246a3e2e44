// A real llama.cpp server and tools (issue 26): llama-server started with --no-jinja refuses
// any request with tools (HTTP 500 "tools param requires --jinja flag"). A persona allowed
// tools still answers there, without them, and says so once; the refusal is remembered, so
// its next answer is one request without tools. (With jinja on, this build accepts tools; the
// tiny random-weight model never asks for a call, even with tool_choice "required", so the
// calls themselves are tested with the fake model in tools.test.ts.)
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { freePort } from '../support/freePort.js';
import { fakeMcpStdioConfig } from '../support/fakeMcp.js';
import { startLlama, type LlamaServer } from '../harness/llama.js';
import { newUser, seedPersonas, startTestBridge, type TestBridge, type TestUser } from './helpers/index.js';
import { readState } from './helpers/state.js';

const TIMEOUT_MS = 180_000;
const NOTE = 'I could not use my tools for this answer';

describe('tools against llama-server --no-jinja (real llama.cpp, real Synapse)', () => {
  let llama: LlamaServer;
  let tb: TestBridge;
  let alice: TestUser;

  beforeAll(async () => {
    llama = await startLlama({ dataDir: join(readState().runDir, 'llama-nojinja'), port: await freePort(), context: 512, jinja: false });
    const personasDir = seedPersonas('tools-llama', [{ name: 'Ada', prompt: 'You are Ada.', tools: ['demo/*'] }]);
    const callLog = join(mkdtempSync(join(tmpdir(), 'tools-llama-')), 'calls.jsonl');
    tb = await startTestBridge({
      llmBaseUrl: llama.baseUrl,
      personasDir,
      config: { llm: { model: llama.model, max_tokens: 24, timeout_seconds: 60, max_retries: 0 }, replies: { live: false }, tools: { mcp_servers: [fakeMcpStdioConfig('demo', callLog)] as never } },
    });
    alice = await newUser();
  }, TIMEOUT_MS);
  afterAll(async () => {
    alice?.stop();
    await tb?.stop();
    await llama?.stop();
  });

  test('the persona answers without its tools and says so once', async () => {
    const ada = tb.personaUserId('Ada');
    const dm = await alice.openDm(ada);
    await alice.sendText(dm, 'hello there');
    const first = await alice.waitForMessage(dm, (e) => e.sender === ada, 120_000, 'the first answer');
    expect(String(first.content.body)).toContain(NOTE);
    await alice.sendText(dm, 'and again');
    const second = await alice.waitForMessage(dm, (e) => e.sender === ada && e.event_id !== first.event_id, 120_000, 'the second answer');
    expect(String(second.content.body)).not.toContain(NOTE);
    // Refused once: the second answer's request went without tools.
    expect((await llama.log()).split('tools param requires --jinja flag').length - 1).toBe(1);
  }, TIMEOUT_MS);
});
