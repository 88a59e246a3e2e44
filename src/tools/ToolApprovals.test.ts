import { ToolApprovals } from './ToolApprovals.js';

describe('ToolApprovals', () => {
  const ask = (approvals: ToolApprovals, over: { timeoutMs?: number; signal?: AbortSignal } = {}) =>
    approvals.ask({ roomId: '!r', requester: '@bob:hs', post: async () => '$req', timeoutMs: over.timeoutMs ?? 10_000, signal: over.signal ?? new AbortController().signal });

  test('✅ by the person asked approves; anyone else is ignored; ❌ refuses', async () => {
    const approvals = new ToolApprovals();
    const first = ask(approvals);
    await new Promise((r) => setImmediate(r));
    expect(approvals.react('$req', '✅', '@eve:hs', false)).toBe(false);
    expect(approvals.react('$req', '👍', '@bob:hs', false)).toBe(false);
    expect(approvals.react('$req', '✅\uFE0F', '@bob:hs', false)).toBe(true);
    await expect(first).resolves.toBe('approved');
    const second = ask(approvals);
    await new Promise((r) => setImmediate(r));
    expect(approvals.react('$req', '❌', '@admin:hs', true)).toBe(true);
    await expect(second).resolves.toBe('denied');
    expect(approvals.pending).toBe(0);
  });

  test('!approve decides every request of the room the sender may decide, and says how many', async () => {
    const approvals = new ToolApprovals();
    const both = [ask(approvals), ask(approvals)];
    expect(approvals.decideInRoom('!other', true, '@bob:hs', false, '$c0')).toBe(0);
    expect(approvals.decideInRoom('!r', true, '@eve:hs', false, '$c1')).toBe(0);
    expect(approvals.decideInRoom('!r', true, '@bob:hs', false, '$c2')).toBe(2);
    expect(approvals.decidedBy('$c2')).toBe(2);
    await expect(Promise.all(both)).resolves.toEqual(['approved', 'approved']);
  });

  test('the timeout refuses; a stopped answer cancels', async () => {
    const approvals = new ToolApprovals();
    await expect(ask(approvals, { timeoutMs: 20 })).resolves.toBe('timeout');
    const controller = new AbortController();
    const stopped = ask(approvals, { signal: controller.signal });
    controller.abort();
    await expect(stopped).resolves.toBe('cancelled');
  });
});
