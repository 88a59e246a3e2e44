import { getLogger } from '../logging.js';
import { MAX_DESCRIPTION_LENGTH, type DescriptionStore } from '../people/DescriptionStore.js';
import { UsageError, type Command, type CommandContext } from './CommandTable.js';

const log = getLogger('MeCommands');

export interface MeCommandsDeps {
  descriptions: Pick<DescriptionStore, 'set' | 'clear' | 'all'>;
  /** True when the room is a direct chat (two members): what is shown there, only the sender reads. */
  isDirect(roomId: string): Promise<boolean>;
  prefix: string;
}

/** User-facing texts of `!me`, in one place. */
const TEXT = {
  consoleOnly: 'This is for people in chat: it describes the sender to the personas.',
  tooLong: (n: number) => `That is ${n} characters; a description is at most ${MAX_DESCRIPTION_LENGTH}. Say it shorter.`,
  set: (here: boolean, prefix: string) =>
    here
      ? `Noted. In this room the personas will know this about you when you speak (instead of your ${prefix}me for everywhere). Nobody else is shown it.`
      : `Noted. The personas will know this about you when you speak, in every room. Nobody else is shown it.`,
  cleared: (here: boolean) => (here ? 'Removed what you told the personas about yourself for this room.' : 'Removed what you told the personas about yourself.'),
  nothingToClear: (here: boolean) => (here ? 'You had nothing set for this room.' : 'You had nothing set.'),
  notHere: (prefix: string) => `I show it only in a direct chat (with me or a persona): others here would read it. Send ${prefix}me there.`,
  none: (prefix: string) => `You have not told the personas anything about yourself. Send ${prefix}me <text> (or ${prefix}me --room <text> for this room only).`,
  shown: (everywhere: string | null, here: string | null, others: number) =>
    [
      everywhere ? `Everywhere: ${everywhere}` : '',
      here ? `In this room: ${here}` : '',
      others ? `(and ${others} other room${others === 1 ? '' : 's'} with a description of their own)` : '',
    ]
      .filter(Boolean)
      .join('\n'),
};

/**
 * `!me`: how a person wants the personas to know them. Shown in a persona's prompt only when
 * that person is among those who wrote last ("About bob: …"), never to other people.
 * Answered by the bot, or in a direct chat with a persona by the persona.
 */
export function meCommands(deps: MeCommandsDeps): Command[] {
  return [
    {
      name: 'me',
      usage: '[--room] [<text> | clear]',
      help: 'tell the personas who you are (shown to them when you speak; --room: in this room only); alone: shows it; clear: removes it',
      permission: 'anyone',
      async run(ctx) {
        if (!ctx.roomId) return ctx.fail(TEXT.consoleOnly);
        const { here, text } = parse(ctx);
        const roomId = here ? ctx.roomId : null;
        if (text.toLowerCase() === 'clear') {
          const removed = deps.descriptions.clear(ctx.sender, roomId);
          return ctx.reply(removed ? TEXT.cleared(here) : TEXT.nothingToClear(here));
        }
        if (text) {
          if (text.length > MAX_DESCRIPTION_LENGTH) return ctx.fail(TEXT.tooLong(text.length));
          deps.descriptions.set(ctx.sender, roomId, text);
          log.info(`${ctx.sender} set their description${here ? ` for ${ctx.roomId}` : ''}`);
          return ctx.reply(TEXT.set(here, deps.prefix));
        }
        const all = deps.descriptions.all(ctx.sender);
        if (all.length === 0) return ctx.reply(TEXT.none(deps.prefix));
        if (!(await deps.isDirect(ctx.roomId))) return ctx.reply(TEXT.notHere(deps.prefix));
        const everywhere = all.find((d) => d.roomId === null)?.text ?? null;
        const inRoom = all.find((d) => d.roomId === ctx.roomId)?.text ?? null;
        const others = all.filter((d) => d.roomId !== null && d.roomId !== ctx.roomId).length;
        await ctx.reply(TEXT.shown(everywhere, inRoom, others));
      },
    },
  ];
}

/** `--room` anywhere before the text, then the text as written (spacing kept). */
function parse(ctx: CommandContext): { here: boolean; text: string } {
  let rest = ctx.rest.trim();
  let here = false;
  while (/^--room(\s|$)/.test(rest)) {
    here = true;
    rest = rest.slice('--room'.length).trim();
  }
  if (rest.startsWith('--')) throw new UsageError(`Unknown option '${rest.split(/\s/)[0]}'.`);
  return { here, text: rest };
}
