// Operating the bridge on a real Synapse: /metrics after real replies (and a failed one),
// /health with the homeserver, and metrics turned off.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FakeOpenAI } from '../fakes/FakeOpenAI.js';
import { builtFile, newUser, startTestBridge, type TestBridge, type TestUser, seedPersonas } from './helpers/index.js';

/** Sample lines of the exposition text as `series -> value`, e.g. `personas_rooms -> 1`. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('metrics and health on a real Synapse', () => {
  let llm: FakeOpenAI;
  let tb: TestBridge;
  let alice: TestUser;
  let ada: string;

  beforeAll(async () => {
    llm = (await FakeOpenAI.start()).respondWith({ content: 'Hello from Ada.', usage: { prompt_tokens: 321, completion_tokens: 7 } });
    const personasDir = seedPersonas('metrics', [{ name: 'Ada', prompt: 'You are Ada.' }]);
    tb = await startTestBridge({ llmBaseUrl: llm.baseUrl, personasDir });
    ada = tb.personaUserId('Ada');
    alice = await newUser();
  });
  afterAll(async () => {
    alice?.stop();
    await tb?.stop();
    await llm?.stop();
  });

  const scrape = async (): Promise<Map<string, number>> => {
    const res = await fetch(`${tb.appserviceUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    return samples(await res.text());
  };

  test('after a reply and a failed one, /metrics has every series with the values they caused', async () => {
    const roomId = await alice.openDm(ada);
    await alice.sendText(roomId, 'Hi Ada');
    await alice.waitForMessage(roomId, (e) => e.sender === ada && e.content.body === 'Hello from Ada.');
    // The model refuses the next request (HTTP 400: not retried): the persona says so.
    llm.enqueue({ status: 400, message: 'unknown model' });
    await alice.sendText(roomId, 'And again?');
    await alice.waitForMessage(roomId, (e) => e.sender === ada && /can't think right now/.test(e.content.body ?? ''));
    // Metrics are recorded once the answer's send returns, which may be after the echo arrived.
    await tb.app.services.dispatcher.idle();

    const m = await scrape();
    const persona = `persona="${ada}"`;
    expect(m.get('personas_events_received_total{type="m.room.message"}')).toBeGreaterThanOrEqual(2);
    expect(m.get('personas_events_received_total{type="m.room.member"}')).toBeGreaterThanOrEqual(1);
    expect(m.get(`personas_replies_total{${persona}}`)).toBe(1);
    for (const stage of ['queue_wait', 'llm', 'send', 'total']) {
      expect(m.get(`personas_reply_latency_seconds_count{stage="${stage}"}`)).toBe(1);
    }
    expect(m.get('personas_reply_latency_seconds_sum{stage="total"}')).toBeGreaterThanOrEqual(m.get('personas_reply_latency_seconds_sum{stage="llm"}')!);
    expect(m.get(`personas_llm_tokens_total{${persona},direction="in"}`)).toBe(321);
    expect(m.get(`personas_llm_tokens_total{${persona},direction="out"}`)).toBe(7);
    expect(m.get('personas_llm_errors_total{kind="rejected"}')).toBe(1);
    expect(m.get('personas_suppressed_loops_total')).toBe(0);
    expect(m.get('personas_active_personas')).toBe(1);
    expect(m.get('personas_rooms')).toBe(1);
    expect(m.has('process_resident_memory_bytes')).toBe(true);
  });

  test('/health reports the database and the homeserver', async () => {
    // The homeserver's entry names the newest spec version it serves, as --check does.
    const { versions } = (await (await fetch(`${tb.config.homeserver.url}/_matrix/client/versions`)).json()) as { versions: string[] };
    const homeserverSpec = versions.at(-1);
    const res = await fetch(`${tb.appserviceUrl}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      checks: { database: { ok: true, detail: 'ok' }, homeserver: { ok: true, detail: `${tb.config.homeserver.url} answers (spec ${homeserverSpec})` } },
    });
  });

  test("the image's HEALTHCHECK script finds the listener from the config and passes", async () => {
    const configPath = join(mkdtempSync(join(tmpdir(), 'metrics-health-')), 'config.yaml');
    writeFileSync(configPath, stringify(tb.config));
    const script = builtFile('doctor/healthcheck.js');
    const result = await new Promise<{ code: number; out: string }>((done) =>
      execFile(process.execPath, [script, configPath], (err, stdout) => done({ code: err ? Number(err.code ?? 1) : 0, out: stdout })),
    );
    expect(result.out).toMatch(/^200 \{"status":"ok"/);
    expect(result.code).toBe(0);
  });

  test('with metrics.enabled false there is no /metrics', async () => {
    const off = await startTestBridge({ config: { metrics: { enabled: false } } });
    try {
      expect(off.app.services.metrics).toBeNull();
      expect((await fetch(`${off.appserviceUrl}/metrics`)).status).toBe(404);
      expect((await fetch(`${off.appserviceUrl}/health`)).status).toBe(200);
    } finally {
      await off.stop();
    }
  });
});
