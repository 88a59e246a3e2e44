import type { Command } from '../commands/CommandTable.js';
import { NOBODY, type UsageCaps } from './UsageAccounting.js';
import { usageDay, type KeyedTotal, type UsageStore, type UsageTotal } from './UsageStore.js';

interface UsageCommandDeps {
  store: Pick<UsageStore, 'userDay' | 'userDays' | 'byPersona' | 'topUsers' | 'byModel'>;
  caps: UsageCaps;
  /** A persona's display name, for the admin overview. */
  personaName(userId: string): string | undefined;
  /** The bot and the personas: never listed among the users (answers are charged to people). */
  isOurUser?(userId: string): boolean;
  now?: () => number;
}

const TOP_USERS = 5;
const ZERO: UsageTotal = { requests: 0, promptTokens: 0, completionTokens: 0, tokens: 0 };
const addTotals = (sum: UsageTotal, d: UsageTotal): UsageTotal => ({
  requests: sum.requests + d.requests,
  promptTokens: sum.promptTokens + d.promptTokens,
  completionTokens: sum.completionTokens + d.completionTokens,
  tokens: sum.tokens + d.tokens,
});
const WEEK_DAYS = 7;

const n = (v: number): string => v.toLocaleString('en');
const describe = (t: UsageTotal): string =>
  `${n(t.tokens)} tokens (${n(t.promptTokens)} in, ${n(t.completionTokens)} out) in ${n(t.requests)} answer${t.requests === 1 ? '' : 's'}`;
const lines = (rows: KeyedTotal[], label: (key: string) => string): string =>
  rows.length ? rows.map((r) => `- ${label(r.key)}: ${describe(r)}`).join('\n') : '- none';

/**
 * `!usage`: anyone sees what their own messages cost today and this week (and their cap);
 * admins also get today's and the week's usage per persona, per model and the top users.
 */
export function usageCommands(deps: UsageCommandDeps): Command[] {
  const now = deps.now ?? Date.now;
  return [
    {
      name: 'usage',
      usage: '',
      help: 'LLM tokens used: yours today and this week (admins: per persona, per model and top users)',
      permission: 'anyone',
      async run(ctx) {
        const today = usageDay(now());
        const weekStart = usageDay(now() - (WEEK_DAYS - 1) * 86_400_000);
        const parts: string[] = [];
        const data: Record<string, unknown> = { today, weekStart };
        if (ctx.via === 'chat') {
          const week = deps.store.userDays(ctx.sender, weekStart);
          const weekTotal = week.reduce(addTotals, ZERO);
          data.you = { today: deps.store.userDay(ctx.sender, today), week: weekTotal, dailyCap: deps.caps.userDailyTokens };
          const cap = deps.caps.userDailyTokens > 0 && !ctx.isAdmin ? ` Your daily allowance is ${n(deps.caps.userDailyTokens)} tokens.` : '';
          parts.push(`Your usage today (${today}, UTC): ${describe(deps.store.userDay(ctx.sender, today))}. Last ${WEEK_DAYS} days: ${describe(weekTotal)}.${cap}`);
        }
        if (ctx.isAdmin) {
          // People apart from personas: what no person started is summed up on its own line.
          const users = deps.store.topUsers(weekStart, -1);
          const isPerson = (key: string) => key !== NOBODY && !(deps.isOurUser?.(key) ?? false);
          const people = users.filter((u) => isPerson(u.key));
          const unowned = users.filter((u) => !isPerson(u.key)).reduce(addTotals, ZERO);
          const persona = (id: string) => `${deps.personaName(id) ?? id}${deps.personaName(id) ? ` (${id})` : ''}`;
          const named = (rows: KeyedTotal[]) => rows.map(({ key, ...t }) => ({ userId: key, name: deps.personaName(key) ?? null, ...t }));
          data.personasToday = named(deps.store.byPersona(today));
          data.personasWeek = named(deps.store.byPersona(weekStart));
          data.modelsWeek = deps.store.byModel(weekStart).map(({ key, ...t }) => ({ model: key, ...t }));
          data.topUsersWeek = people.slice(0, TOP_USERS).map(({ key, ...t }) => ({ userId: key, ...t }));
          data.startedByNoPerson = unowned;
          data.caps = { personaDailyTokens: deps.caps.personaDailyTokens, userDailyTokens: deps.caps.userDailyTokens };
          const capLine = [
            deps.caps.personaDailyTokens > 0 ? `per persona ${n(deps.caps.personaDailyTokens)}/day` : null,
            deps.caps.userDailyTokens > 0 ? `per user ${n(deps.caps.userDailyTokens)}/day` : null,
          ].filter(Boolean);
          parts.push(
            [
              `Per persona today:\n${lines(deps.store.byPersona(today), persona)}`,
              `Per persona, last ${WEEK_DAYS} days:\n${lines(deps.store.byPersona(weekStart), persona)}`,
              `Per backend/model, last ${WEEK_DAYS} days:\n${lines(deps.store.byModel(weekStart), (k) => k)}`,
              `Top users, last ${WEEK_DAYS} days:\n${lines(people.slice(0, TOP_USERS), (k) => k)}`,
              ...(unowned.requests > 0 ? [`Started by no person (answers among personas with no person known; older records charged to a persona), last ${WEEK_DAYS} days: ${describe(unowned)}`] : []),
              `Caps: ${capLine.length ? capLine.join(', ') : 'none'}.`,
            ].join('\n\n'),
          );
        }
        ctx.data(data);
        await ctx.reply(parts.join('\n\n'));
      },
    },
  ];
}
