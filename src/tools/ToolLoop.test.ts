import Database from 'better-sqlite3';
import type { Completion, CompletionRequest } from '../llm/LlmClient.js';
import { migrate } from '../store/Database.js';
import { textOutput, type ToolCallContext, type ToolOutput, type ToolSource, type ToolSpec } from './Tool.js';
import { approvalRequestText, progressText } from './messages.js';
import { ToolApprovals } from './ToolApprovals.js';
import { ToolCatalog } from './ToolCatalog.js';
import { cutResult, ToolLoop, type ToolLoopLimits } from './ToolLoop.js';
import { ToolRunStore } from './ToolRunStore.js';

/** A tool source whose tools answer with a function of their arguments, counting calls. */
class FakeSource implements ToolSource {
  readonly calls: Array<{ tool: string; args: Record<string, unknown> }> = [];
  constructor(
    readonly server: string,
    private readonly run: (tool: string, args: Record<string, unknown>, ctx: ToolCallContext) => Promise<ToolOutput>,
    private readonly names = ['lookup', 'slow'],
  ) {}
  tools(): ToolSpec[] {
    return this.names.map((name) => ({ qualified: `${this.server}/${name}`, server: this.server, name, description: name, parameters: { type: 'object', properties: {} } }));
  }
  async call(tool: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolOutput> {
    this.calls.push({ tool, args });
    return this.run(tool, args, ctx);
  }
  status() {
    return { server: this.server, kind: 'builtin' as const, state: 'ready' as const, tools: 2, restarts: 0, error: null, since: 0 };
  }
}

/** A model that asks for the scripted calls round by round, then answers with what it got. */
function scriptedModel(rounds: Array<Array<{ name: string; arguments: string }>>) {
  const requests: CompletionRequest[] = [];
  return {
    requests,
    async complete(request: CompletionRequest): Promise<Completion> {
      requests.push(request);
      const done = (request.continuation ?? []).filter((t) => t.role === 'assistant').length;
      const usage = { promptTokens: 10, completionTokens: 5, totalTokens: 15 };
      if (request.tools && done < rounds.length) {
        return { text: '', model: 'm', usage, attempts: 1, toolCalls: rounds[done]!.map((c, i) => ({ id: `c${done}_${i}`, ...c })) };
      }
      const results = (request.continuation ?? []).filter((t) => t.role === 'tool').map((t) => (t as { content: string }).content);
      return { text: `answer: ${results.join(' | ')}`, model: 'm', usage, attempts: 1 };
    },
  };
}

const limits: ToolLoopLimits = { maxRounds: 4, maxCallsPerRound: 3, callTimeoutMs: 200, timeBudgetMs: 60_000, resultTokens: 100, approvalTimeoutMs: 1000 };

function setup(rounds: Array<Array<{ name: string; arguments: string }>>, over: { limits?: Partial<ToolLoopLimits>; approval?: Record<string, 'required'> } = {}) {
  const db = new Database(':memory:');
  migrate(db);
  /** The live message's progress texts and the calls, in the order they happened. */
  const timeline: string[] = [];
  const source = new FakeSource('kb', async (tool, args) => {
    timeline.push(`call ${tool}`);
    if (tool === 'slow') return new Promise<ToolOutput>(() => undefined);
    return textOutput(`found ${String(args.q)}`);
  });
  const catalog = new ToolCatalog([source], { servers: {}, patterns: over.approval ?? {} });
  const model = scriptedModel(rounds);
  const approvals = new ToolApprovals();
  const runs = new ToolRunStore(db);
  const loop = new ToolLoop({ catalog, llm: model, approvals, runs, limits: { ...limits, ...over.limits }, commandPrefix: '!' });
  const posted: string[] = [];
  const run = (controller = new AbortController(), mayContinue?: () => boolean) =>
    loop.run({
      ...(mayContinue ? { mayContinue } : {}),
      progress: (text) => timeline.push(text),
      request: { messages: [{ role: 'user', content: 'hi' }], queueKey: '!r', signal: controller.signal },
      offer: catalog.offer(['kb/*'])!,
      key: { personaId: '@ada:hs', eventId: '$q' },
      context: { personaId: '@ada:hs', personaName: 'Ada', roomId: '!r', requester: '@bob:hs', threadRootId: null, isDirect: true, eventId: '$q' },
      postApproval: async (text) => {
        posted.push(text);
        return `$approval${posted.length}`;
      },
    });
  return { db, source, model, approvals, runs, run, posted, timeline };
}

describe('ToolLoop', () => {
  test('runs the calls, gives the results back, and sums the usage of every round', async () => {
    const t = setup([[{ name: 'kb__lookup', arguments: '{"q":"cats"}' }, { name: 'kb__lookup', arguments: '{"q":"dogs"}' }]]);
    const { completion, used } = await t.run();
    expect(completion.text).toBe('answer: found cats | found dogs');
    expect(completion.usage).toEqual({ promptTokens: 20, completionTokens: 10, totalTokens: 30 });
    expect(used.map((u) => u.tool)).toEqual(['kb/lookup', 'kb/lookup']);
    expect(t.model.requests[0]!.tools?.map((d) => d.function.name)).toEqual(['kb__lookup', 'kb__slow']);
  });

  test('each round shows its tools in the live message before they run (once per tool, at most three named)', async () => {
    const many = ['a', 'b', 'c', 'd'].map((q) => ({ name: 'kb__lookup', arguments: `{"q":"${q}"}` }));
    const t = setup([[{ name: 'kb__lookup', arguments: '{"q":"x"}' }, { name: 'kb__lookup', arguments: '{"q":"y"}' }], many], { limits: { maxCallsPerRound: 4 } });
    await t.run();
    expect(t.timeline).toEqual(['🔧 checking kb/lookup…', 'call lookup', 'call lookup', '🔧 checking kb/lookup…', 'call lookup', 'call lookup', 'call lookup', 'call lookup']);
    expect(progressText(['kb/lookup', 'kb/fetch', 'kb/parse', 'kb/store'])).toBe('🔧 checking kb/lookup, kb/fetch, kb/parse and 1 more…');
  });

  test('after max_rounds the model is asked without tools', async () => {
    const call = [{ name: 'kb__lookup', arguments: '{"q":"again"}' }];
    const t = setup([call, call, call, call, call, call], { limits: { maxRounds: 2 } });
    const { completion } = await t.run();
    expect(t.model.requests.map((r) => (r.tools ? 'tools' : 'none'))).toEqual(['tools', 'tools', 'none']);
    expect(t.source.calls).toHaveLength(2);
    expect(completion.text).toContain('answer:');
  });

  test('past the rate limit or a usage cap (mayContinue false) the next request goes without tools', async () => {
    const call = [{ name: 'kb__lookup', arguments: '{"q":"x"}' }];
    const t = setup([call, call, call]);
    let allowed = 1;
    await t.run(undefined, () => allowed-- > 0);
    expect(t.model.requests.map((r) => (r.tools ? 'tools' : 'none'))).toEqual(['tools', 'tools', 'none']);
    expect(t.source.calls).toHaveLength(2);
  });

  test('a call that never returns is an error result after the call timeout', async () => {
    const t = setup([[{ name: 'kb__slow', arguments: '' }]]);
    const { completion } = await t.run();
    expect(completion.text).toMatch(/did not answer within/);
  });

  test('a stopped answer stops while a tool runs (cancelled, not an error result)', async () => {
    const t = setup([[{ name: 'kb__slow', arguments: '' }]], { limits: { callTimeoutMs: 60_000 } });
    const controller = new AbortController();
    const running = t.run(controller);
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    // The round the model answered (asking for the tool) was paid for: the cancellation carries it.
    await expect(running).rejects.toMatchObject({ kind: 'cancelled', model: 'm', usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 } });
  });

  test('approval: the request names the tool and its arguments; ✅ runs it once', async () => {
    const t = setup([[{ name: 'kb__lookup', arguments: '{"q":"secret"}' }]], { approval: { 'kb/lookup': 'required' } });
    const running = t.run();
    while (t.posted.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(t.posted[0]).toContain('kb/lookup with {"q":"secret"}');
    // The timeout as it is: seconds under a minute, minutes above.
    expect(t.posted[0]).toContain('Without an answer within 1 second it is refused.');
    expect(approvalRequestText('kb/lookup', '{}', 300_000, '!')).toContain('within 5 minutes');
    expect(t.source.calls).toHaveLength(0);
    expect(t.approvals.react('$approval1', '✅', '@bob:hs', false)).toBe(true);
    const { completion } = await running;
    expect(completion.text).toBe('answer: found secret');
    expect(t.source.calls).toHaveLength(1);
  });

  test('resumed after a crash: a done call is not run again, a started one is reported interrupted, not run', async () => {
    const t = setup([[{ name: 'kb__lookup', arguments: '{"q":"a"}' }, { name: 'kb__lookup', arguments: '{"q":"b"}' }, { name: 'kb__lookup', arguments: '{"q":"c"}' }]]);
    const key = { personaId: '@ada:hs', eventId: '$q' };
    const calls = [
      { id: 'c0_0', name: 'kb__lookup', arguments: '{"q":"a"}' },
      { id: 'c0_1', name: 'kb__lookup', arguments: '{"q":"b"}' },
      { id: 'c0_2', name: 'kb__lookup', arguments: '{"q":"c"}' },
    ];
    // What the previous process wrote before it died: the round, a finished call, a started one.
    t.runs.saveRound(key, 1, '', calls);
    t.runs.done(key, 1, calls[0]!, 'kb/lookup', 'found a (before the crash)', false);
    t.runs.started(key, 1, calls[1]!, 'kb/lookup');
    const { completion } = await t.run();
    expect(t.source.calls.map((c) => c.args.q)).toEqual(['c']);
    expect(completion.text).toContain('found a (before the crash)');
    expect(completion.text).toContain('restarted while this call was running');
    expect(completion.text).toContain('found c');
  });

  test('bad calls: malformed JSON, an unknown tool, too many in one round', async () => {
    const t = setup([
      [
        { name: 'kb__lookup', arguments: '{"q": ' },
        { name: 'kb__nope', arguments: '{}' },
        { name: 'kb__lookup', arguments: '[1]' },
        { name: 'kb__lookup', arguments: '{"q":"4th"}' },
      ],
    ]);
    const { completion } = await t.run();
    const parts = completion.text.replace('answer: ', '').split(' | ');
    expect(parts[0]).toMatch(/not a valid JSON object/);
    expect(parts[1]).toMatch(/no tool named "kb__nope".*kb__lookup, kb__slow/);
    expect(parts[2]).toMatch(/not a valid JSON object \(got an array\)/);
    expect(parts[3]).toMatch(/At most 3 tool calls/);
    expect(t.source.calls).toHaveLength(0);
  });
});

describe('cutResult', () => {
  test('a short result is kept; a long one is cut to the budget and says how much there was', () => {
    expect(cutResult('short', 100)).toBe('short');
    const cut = cutResult('word '.repeat(2_000_000), 100);
    expect(cut.length).toBeLessThan(600);
    expect(cut).toMatch(/cut: \d+ of 10000000 characters shown/);
  });
});

describe('ToolAnswering', () => {
  test('rounds are charged to who started the answer; a model refusing tools is said once per persona and model', async () => {
    const { ToolAnswering } = await import('./ToolAnswering.js');
    const { ToolNameMap } = await import('./toolNames.js');
    const charged: Array<string | null> = [];
    const completions = [
      { text: 'plain', model: 'm', usage: null, attempts: 1, toolsRefused: 'HTTP 500: tools param requires --jinja flag' },
      { text: 'again', model: 'm', usage: null, attempts: 1, toolsRefused: 'HTTP 500: tools param requires --jinja flag' },
    ];
    const answering = new ToolAnswering({
      catalog: { offer: () => ({ definitions: [], names: new ToolNameMap([]), specs: new Map() }) },
      llm: { complete: async () => completions[0]! },
      loop: {
        run: async (run) => {
          run.mayContinue?.();
          return { completion: completions.shift()!, used: [] };
        },
      },
      mayContinue: (_persona, userId) => (charged.push(userId), true),
    });
    const answer = { persona: { userId: '@ada:hs', name: 'Ada', tools: ['kb/*'] } as never, roomId: '!r', requester: '@bob:hs', chargedTo: null, threadRootId: null, isDirect: true, eventId: '$e', fresh: false, postApproval: async () => '$a' };
    const first = await answering.complete({ messages: [], queueKey: '!r' }, answer);
    const second = await answering.complete({ messages: [], queueKey: '!r' }, { ...answer, chargedTo: '@carol:hs' });
    expect(first.text).toContain('could not use my tools');
    expect(second.text).toBe('again');
    expect(charged).toEqual([null, '@carol:hs']);
  });
});
