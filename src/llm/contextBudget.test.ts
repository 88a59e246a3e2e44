import { contextBudget, nextShrink } from './contextBudget.js';
import { ContextWindows } from './ContextWindows.js';

describe('contextBudget', () => {
  test('an unknown window keeps the old fixed settings', () => {
    expect(contextBudget({ contextTokens: null, maxTokens: 1024, promptCap: 4096, shrink: 1 })).toEqual({ promptTokens: 4096, replyTokens: 1024, contextTokens: null });
  });

  test('a 512 window: the answer gets a quarter, a margin stays free, the prompt the rest', () => {
    const b = contextBudget({ contextTokens: 512, maxTokens: 1024, promptCap: 4096, shrink: 1 });
    expect(b).toEqual({ promptTokens: 512 - 128 - 26, replyTokens: 128, contextTokens: 512 });
    expect(b.promptTokens + b.replyTokens).toBeLessThan(512);
  });

  test('a large window keeps max_tokens and is capped by memory.context_tokens', () => {
    expect(contextBudget({ contextTokens: 131072, maxTokens: 1024, promptCap: 4096, shrink: 1 })).toEqual({ promptTokens: 4096, replyTokens: 1024, contextTokens: 131072 });
    // 8192 with 4 slots is 2048 per request (what llama.cpp's /props reports).
    const slot = contextBudget({ contextTokens: 2048, maxTokens: 1024, promptCap: 4096, shrink: 1 });
    expect(slot.replyTokens).toBe(512);
    expect(slot.promptTokens).toBe(2048 - 512 - 103);
  });

  test('the shrink factor scales the prompt budget, never below the floor', () => {
    expect(contextBudget({ contextTokens: 512, maxTokens: 64, promptCap: 4096, shrink: 0.5 }).promptTokens).toBe(Math.floor((512 - 64 - 26) * 0.5));
    expect(contextBudget({ contextTokens: 512, maxTokens: 64, promptCap: 4096, shrink: 0 }).promptTokens).toBe(64);
  });
});

describe('nextShrink', () => {
  test('scales by how much the estimate undercounted, with a cushion', () => {
    expect(nextShrink(1, 300, { promptTokens: 600, contextTokens: 512 })).toBeCloseTo(0.45);
  });
  test('keeps the factor when the estimate was right (the window was wrong), steps down with no figures', () => {
    expect(nextShrink(0.8, 600, { promptTokens: 560, contextTokens: 512 })).toBe(0.8);
    expect(nextShrink(1, 300, {})).toBeCloseTo(0.7);
  });
  test('never grows and never falls below 0.05', () => {
    expect(nextShrink(0.06, 10, { promptTokens: 1000 })).toBe(0.05);
  });
});

describe('ContextWindows', () => {
  const windows = (configured: number | null, discover: (m: string) => Promise<number | null>) =>
    new ContextWindows({ configured, maxTokens: 256, promptCap: 4096, discover });

  test('asks the server once per model and uses what it says', async () => {
    const asked: string[] = [];
    const w = windows(null, async (m) => (asked.push(m), 1024));
    expect((await w.budget('a')).contextTokens).toBe(1024);
    await w.budget('a');
    expect((await Promise.all([w.budget('b'), w.budget('b')]))[0]!.replyTokens).toBe(256);
    expect(asked).toEqual(['a', 'b']);
  });

  test('a configured window is used as is, nothing asked', async () => {
    const w = windows(8192, () => Promise.reject(new Error('must not be asked')));
    expect((await w.budget('m')).contextTokens).toBe(8192);
  });

  test('a failing discovery means an unknown window, not an error', async () => {
    const w = windows(null, () => Promise.reject(new Error('down')));
    expect(await w.budget('m')).toEqual({ promptTokens: 4096, replyTokens: 256, contextTokens: null });
  });

  test('a refusal teaches the real window and shrinks later prompts; each refusal shrinks further', async () => {
    const w = windows(4096, async () => null);
    const first = await w.budget('m');
    w.exceeded('m', first.promptTokens, { promptTokens: 3900, contextTokens: 512 });
    const second = await w.budget('m');
    expect(second.contextTokens).toBe(512);
    expect(second.promptTokens + second.replyTokens).toBeLessThan(512);
    w.exceeded('m', second.promptTokens, {});
    expect((await w.budget('m')).promptTokens).toBeLessThan(second.promptTokens);
    expect(w.stats.exceeded).toBe(2);
  });
});
