import type { CommandContext } from '../commands/CommandTable.js';
import { openDatabase } from '../store/Database.js';
import { UsageAccounting } from './UsageAccounting.js';
import { usageCommands } from './usageCommands.js';
import { UsageStore } from './UsageStore.js';

const ADA = '@persona_ada:hs';
const BO = '@persona_bo:hs';
const DAY1 = Date.UTC(2026, 10, 28, 12);
const DAY2 = Date.UTC(2026, 10, 29, 9);

function setup() {
  const store = new UsageStore(openDatabase(':memory:'));
  const add = (personaId: string, userId: string, promptTokens: number, completionTokens: number, at = DAY2, roomId = '!r') =>
    store.record({ personaId, roomId, userId, backend: 'default', model: 'm', promptTokens, completionTokens }, at);
  return { store, add };
}

describe('usage accounting', () => {
  test('totals per persona, user, day and model, added up across answers', () => {
    const { store, add } = setup();
    add(ADA, '@alice:hs', 100, 10);
    add(ADA, '@alice:hs', 50, 5, DAY2, '!other');
    add(BO, '@bob:hs', 30, 3);
    add(ADA, '@alice:hs', 1000, 1, DAY1);
    expect(store.personaDay(ADA, '2026-11-29')).toEqual({ requests: 2, promptTokens: 150, completionTokens: 15, tokens: 165 });
    expect(store.userDay('@alice:hs', '2026-11-28').tokens).toBe(1001);
    expect(store.userDays('@alice:hs', '2026-11-01').map((d) => [d.key, d.tokens])).toEqual([
      ['2026-11-29', 165],
      ['2026-11-28', 1001],
    ]);
    expect(store.byPersona('2026-11-29').map((p) => [p.key, p.tokens])).toEqual([
      [ADA, 165],
      [BO, 33],
    ]);
    expect(store.topUsers('2026-11-01', 1).map((u) => u.key)).toEqual(['@alice:hs']);
    expect(store.byModel('2026-11-01')).toEqual([{ key: 'default/m', requests: 4, promptTokens: 1180, completionTokens: 19, tokens: 1199 }]);
  });

  test('caps: per persona, per user (admins exempt), none when 0, and a new UTC day starts afresh', () => {
    const { store, add } = setup();
    let now = DAY2;
    const accounting = (persona: number, user: number) =>
      new UsageAccounting(store, { personaDailyTokens: persona, userDailyTokens: user }, (u) => u === '@admin:hs', () => now);
    add(ADA, '@alice:hs', 90, 10);
    expect(accounting(0, 0).capReached(ADA, '@alice:hs')).toBeNull();
    expect(accounting(100, 0).capReached(ADA, '@bob:hs')).toEqual({ kind: 'persona', limit: 100 });
    expect(accounting(101, 0).capReached(ADA, '@bob:hs')).toBeNull();
    expect(accounting(0, 100).capReached(BO, '@alice:hs')).toEqual({ kind: 'user', limit: 100 });
    add(ADA, '@admin:hs', 500, 0);
    expect(accounting(0, 100).capReached(BO, '@admin:hs')).toBeNull();
    now = DAY2 + 86_400_000;
    expect(accounting(100, 100).capReached(ADA, '@alice:hs')).toBeNull();
  });

  test('!usage: a user sees their own usage and cap; an admin also per persona, per model and top users', async () => {
    const { store, add } = setup();
    add(ADA, '@alice:hs', 1200, 34);
    add(BO, '@bob:hs', 10, 1, DAY1);
    const [usage] = usageCommands({ store, caps: { personaDailyTokens: 0, userDailyTokens: 5000 }, personaName: (id) => (id === ADA ? 'Ada' : undefined), now: () => DAY2 });
    const run = async (sender: string, isAdmin: boolean): Promise<string> => {
      let out = '';
      await usage!.run({ sender, isAdmin, via: 'chat', reply: async (t: string) => void (out = t), data: () => undefined } as unknown as CommandContext);
      return out;
    };
    const alice = await run('@alice:hs', false);
    expect(alice).toBe(
      'Your usage today (2026-11-29, UTC): 1,234 tokens (1,200 in, 34 out) in 1 answer. Last 7 days: 1,234 tokens (1,200 in, 34 out) in 1 answer. Your daily allowance is 5,000 tokens.',
    );
    expect(alice).not.toContain('@bob');
    const admin = await run('@admin:hs', true);
    expect(admin).toContain('Per persona today:\n- Ada (@persona_ada:hs): 1,234 tokens');
    expect(admin).toContain(`Per persona, last 7 days:\n- Ada (@persona_ada:hs): 1,234 tokens (1,200 in, 34 out) in 1 answer\n- ${BO}: 11 tokens`);
    expect(admin).toContain('Top users, last 7 days:\n- @alice:hs: 1,234 tokens');
    expect(admin).toContain('Per backend/model, last 7 days:\n- default/m: 1,245 tokens');
    expect(admin).toContain('Caps: per user 5,000/day.');
  });

  test('!usage lists people apart from personas: what no person started is one line of its own (issue 22 #4)', async () => {
    const { store, add } = setup();
    add(ADA, '@alice:hs', 100, 10);
    add(ADA, BO, 5000, 50); // charged to a persona by an older version
    add(BO, '', 20, 2); // an answer among personas with no person known
    const [usage] = usageCommands({ store, caps: { personaDailyTokens: 0, userDailyTokens: 0 }, personaName: () => undefined, isOurUser: (u) => u.startsWith('@persona_'), now: () => DAY2 });
    let out = '';
    await usage!.run({ sender: '@admin:hs', isAdmin: true, via: 'console', reply: async (t: string) => void (out = t), data: () => undefined } as unknown as CommandContext);
    expect(out).toContain('Top users, last 7 days:\n- @alice:hs: 110 tokens');
    expect(out).not.toMatch(/Top users[^]*- @persona_bo/);
    expect(out).toContain('Started by no person (answers among personas with no person known; older records charged to a persona), last 7 days: 5,072 tokens (5,020 in, 52 out) in 2 answers');
  });

  test('an answer no person started checks no user cap', () => {
    const { store, add } = setup();
    add(ADA, '', 1000, 0);
    const accounting = new UsageAccounting(store, { personaDailyTokens: 0, userDailyTokens: 10 }, () => false, () => DAY2);
    expect(accounting.capReached(ADA, null)).toBeNull();
  });
});
