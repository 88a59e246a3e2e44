import { describeCounts, type FeedbackStore } from '../feedback/FeedbackStore.js';
import type { PersonaStore } from '../personas/PersonaStore.js';
import { eventLink, formatDate } from './recallCommands.js';
import { UsageError, type Command } from './CommandTable.js';

export interface FeedbackCommandsDeps {
  feedback: Pick<FeedbackStore, 'counts' | 'reasons'>;
  personas: Pick<PersonaStore, 'recordByName'>;
  prefix: string;
}

/** Reasons shown by `!feedback`. */
const SHOWN_REASONS = 10;
/** The answer a reason is about, cut to this. */
const EXCERPT = 120;

/** User-facing texts of `!feedback`, in one place. */
const TEXT = {
  noPersona: (name: string, prefix: string) => `No persona named '${name}'. Send ${prefix}persona list to see them.`,
  title: (name: string, counts: string) => `Feedback on ${name}'s answers: ${counts}`,
  noReasons: 'Nobody has said why they gave an answer a 👎 yet (a reply to the answer, by someone who gave it one, is kept as the reason).',
  reasonsTitle: (n: number) => `Why people gave a 👎 (newest first, ${n}):`,
  reason: (when: string, sender: string, body: string, answer: string | null, link: string) =>
    `- ${when}, ${sender}: "${body}"\n  on: ${answer === null ? '(no longer in memory)' : `"${excerpt(answer)}"`} ${link}`,
};

const excerpt = (text: string): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT ? `${flat.slice(0, EXCERPT - 1)}…` : flat;
};

/** `!feedback <Name>` (admins): the counts and rating of a persona's answers, and the reasons given for 👎. */
export function feedbackCommands(deps: FeedbackCommandsDeps): Command[] {
  return [
    {
      name: 'feedback',
      usage: '<Name>',
      help: "what people think of a persona's answers: 👍 👎 ⭐ counts, rating, and the reasons given for 👎",
      permission: 'admin',
      async run(ctx) {
        const name = ctx.args.join(' ').trim();
        if (!name) throw new UsageError('Which persona? Give its name.');
        const record = deps.personas.recordByName(name);
        if (!record) return ctx.fail(TEXT.noPersona(name, deps.prefix));
        const reasons = deps.feedback.reasons(record.userId, SHOWN_REASONS);
        ctx.data({ persona: record.name, userId: record.userId, counts: deps.feedback.counts(record.userId), reasons });
        const lines = [TEXT.title(record.name, describeCounts(deps.feedback.counts(record.userId)))];
        if (reasons.length === 0) lines.push(TEXT.noReasons);
        else {
          lines.push(TEXT.reasonsTitle(reasons.length));
          for (const r of reasons) lines.push(TEXT.reason(formatDate(r.createdAt), r.sender, r.body, r.answer, eventLink(r.roomId, r.answerEventId)));
        }
        await ctx.reply(lines.join('\n'));
      },
    },
  ];
}
