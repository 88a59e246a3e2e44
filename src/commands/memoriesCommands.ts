import { getLogger } from '../logging.js';
import type { MemoryScope } from '../memory/MemoryStore.js';
import type { ForgetReport, MemoryItem, PersonMemory } from '../memory/PersonMemory.js';
import type { Command, CommandContext } from './CommandTable.js';

const log = getLogger('MemoriesCommands');

export interface MemoriesDeps {
  people: Pick<PersonMemory, 'items' | 'messageCount' | 'forgetItem' | 'forgetPerson' | 'names'>;
  /** Persona names and which rooms they are in, to say who keeps what. */
  personas: { byUserId(userId: string): { name: string } | undefined; recordByName(name: string): { userId: string; name: string } | undefined; rooms(userId: string): string[] };
  /** True when the room is a direct chat (two members): only there is what memory keeps about someone shown. */
  isDirect(roomId: string): Promise<boolean>;
  /** Chapters blanked for a person are rewritten now (Summarizer), not at the persona's next answer there. */
  rewrite(scope: MemoryScope): void;
  prefix: string;
}

/** An item's text is shown cut to this. */
const EXCERPT = 160;

/** User-facing texts of `!memories` and `!forget <n>` / `!forget me`, in one place. */
const TEXT = {
  console: 'This lists what the personas keep about the person who asks: use it in chat.',
  notHere: (prefix: string) => `I list what the personas keep about you only in a direct chat (with me or a persona): others here would read it. Send ${prefix}memories there.`,
  noPersona: (name: string, prefix: string) => `No persona named '${name}'. Send ${prefix}persona list to see them.`,
  title: (who: string) => `What ${who} keep${who === 'the personas' ? '' : 's'} about you (numbered for forgetting):`,
  nothing: (who: string) => `${who === 'the personas' ? 'The personas keep' : `${who} keeps`} no notes, summaries or description of yours that concern you.`,
  messages: (n: number, rooms: number) => (n ? `And ${n} of your message${n === 1 ? '' : 's'} in ${rooms} room${rooms === 1 ? '' : 's'} (in memory and search).` : ''),
  howToForget: (prefix: string) =>
    `${prefix}forget <number> removes one, ${prefix}forget me removes everything about you (send them in a direct chat with a persona). Matrix keeps the rooms' history itself.`,
  badNumber: (given: string, prefix: string) => `'${given}' is not a number from ${prefix}memories.`,
  noItem: (n: number, prefix: string) => `There is no item ${n}: send ${prefix}memories to see the list (the numbers move up after a removal).`,
  forgotItem: (n: number, what: string) => `Forgotten: ${n}. ${what}`,
  summaryNote: ' The summary is being rewritten without you.',
  confirmMe: (who: string) => `Forget everything about ${who} across every persona: their messages (in memory and search), the notes they asked for or that name them, their !me, their reactions, and every summary that names them (rewritten without them)?`,
  forgotMe: (r: ForgetReport, who: string) =>
    [
      `Done: the personas have forgotten ${who}.`,
      `Removed ${r.messages} message${r.messages === 1 ? '' : 's'} from memory and search (${r.rooms} room${r.rooms === 1 ? '' : 's'}${r.ownRooms ? `; in ${r.ownRooms} where nobody else wrote, the personas' answers too` : ''}), ${r.notes} note${r.notes === 1 ? '' : 's'}, ${r.descriptions ? 'the !me description, ' : ''}${r.feedback} reaction${r.feedback === 1 ? '' : 's'} or reason${r.feedback === 1 ? '' : 's'}; ${r.chapters} summar${r.chapters === 1 ? 'y is' : 'ies are'} being rewritten without them.`,
      "What remains: Matrix keeps the rooms' history itself (an admin's backfill would read it again); what personas said in rooms where others wrote too stays, as do other people's messages that name them; token counts (numbers only) stay for the daily limits.",
    ].join('\n'),
  notAdmin: 'Only bridge admins can make the personas forget someone else.',
  notInDirect: (prefix: string) => `Numbers from ${prefix}memories are used in a direct chat only (with a persona), where the list was shown.`,
};

const excerpt = (text: string): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT ? `${flat.slice(0, EXCERPT - 1)}…` : flat;
};

/** One line per item, with its number (its place in the full list) and who keeps it where. */
function describeItem(item: MemoryItem, deps: MemoriesDeps): string {
  const name = (id: string) => deps.personas.byUserId(id)?.name ?? id;
  switch (item.kind) {
    case 'me':
      return `your !me${item.roomId ? ` for ${item.roomId}` : ' (everywhere)'}: ${excerpt(item.text)}`;
    case 'note':
      return `note #${item.id} in ${item.roomId} (${item.personaId ? `${name(item.personaId)}'s` : "every persona's there"}): ${excerpt(item.text)}`;
    case 'summary':
      return `${name(item.personaId)}'s summary of ${item.roomId}${item.threadRoot ? ' (a thread)' : ''}: ${excerpt(item.text)}`;
  }
}

/** Whether a persona keeps the item (its own, or its room's while it is there); !me is every persona's. */
function keptBy(item: MemoryItem, personaId: string, rooms: Set<string>): boolean {
  if (item.kind === 'me') return true;
  if (item.kind === 'summary') return item.personaId === personaId;
  return item.personaId === personaId || (item.personaId === null && rooms.has(item.roomId));
}

/** `!memories [Name]`: what the personas (or one of them) keep about the asker, numbered. */
export function memoriesCommands(deps: MemoriesDeps): Command[] {
  return [
    {
      name: 'memories',
      usage: '[Name]',
      help: 'what the personas (or one) keep about you: notes, summaries that name you, your !me, numbered for !forget <n> (in a direct chat)',
      permission: 'anyone',
      async run(ctx) {
        if (!ctx.roomId) return ctx.fail(TEXT.console);
        if (!(await deps.isDirect(ctx.roomId))) return ctx.reply(TEXT.notHere(deps.prefix));
        const name = ctx.args.join(' ').trim();
        const persona = name ? deps.personas.recordByName(name) : undefined;
        if (name && !persona) return ctx.fail(TEXT.noPersona(name, deps.prefix));
        const who = persona?.name ?? 'the personas';
        const rooms = new Set(persona ? deps.personas.rooms(persona.userId) : []);
        const numbered = deps.people.items(ctx.sender).map((item, i) => ({ item, n: i + 1 }));
        const shown = persona ? numbered.filter(({ item }) => keptBy(item, persona.userId, rooms)) : numbered;
        const count = deps.people.messageCount(ctx.sender);
        const lines = shown.length ? [TEXT.title(who), ...shown.map(({ item, n }) => `${n}. ${describeItem(item, deps)}`)] : [TEXT.nothing(who)];
        lines.push(TEXT.messages(count.messages, count.rooms), TEXT.howToForget(deps.prefix));
        await ctx.reply(lines.filter(Boolean).join('\n'));
      },
    },
  ];
}

/**
 * The forms of `!forget` that concern people rather than a room, for the persona command:
 * `!forget <n>` (an item of `!memories`, in a direct chat), `!forget me`, and for admins
 * `!forget @user:server`. Returns false when the arguments are none of these.
 */
export async function forgetPersonForms(ctx: CommandContext, given: string, deps: MemoriesDeps, isDirect: boolean): Promise<boolean> {
  if (/^#?\d+$/.test(given)) {
    if (!isDirect) {
      await ctx.fail(TEXT.notInDirect(deps.prefix));
      return true;
    }
    const n = Number(given.replace('#', ''));
    const names = deps.people.names(ctx.sender);
    const item = deps.people.items(ctx.sender, names)[n - 1];
    if (!item) {
      await ctx.fail(TEXT.noItem(n, deps.prefix));
      return true;
    }
    const scope = deps.people.forgetItem(ctx.sender, item, names);
    if (scope) deps.rewrite(scope);
    log.info(`${ctx.sender} had item ${n} (${item.kind}) forgotten`);
    await ctx.reply(TEXT.forgotItem(n, describeItem(item, deps)) + (item.kind === 'summary' ? TEXT.summaryNote : ''));
    return true;
  }
  const target = given.toLowerCase() === 'me' ? ctx.sender : /^@[^:\s]+:\S+$/.test(given) ? given : null;
  if (!target) return false;
  if (target !== ctx.sender && !ctx.isAdmin) {
    await ctx.fail(TEXT.notAdmin);
    return true;
  }
  const report = deps.people.forgetPerson(target);
  for (const scope of report.scopes) deps.rewrite(scope);
  log.info(`${ctx.sender} had the personas forget ${target}: ${report.messages} messages, ${report.notes} notes, ${report.chapters} chapters`);
  await ctx.reply(TEXT.forgotMe(report, target === ctx.sender ? 'you' : target));
  return true;
}

/** The confirmation asked before `!forget me` / `!forget @user`, or null for other forms. */
export function forgetPersonQuestion(ctx: CommandContext, given: string): string | null {
  if (given.toLowerCase() === 'me') return TEXT.confirmMe('you');
  if (/^@[^:\s]+:\S+$/.test(given) && ctx.isAdmin) return TEXT.confirmMe(given);
  return null;
}

