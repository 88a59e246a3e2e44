import type { AnswerControls } from '../reply/AnswerControls.js';
import type { Command } from './CommandTable.js';

/**
 * `stop`: the persona stops the answer it is writing for you (admins: any answer). The
 * stopping itself happens as the message arrives (ReactionControlStep), ahead of the room's
 * answer queue; this command, run in that queue, says what it did.
 */
export function answerCommands(controls: AnswerControls): Command[] {
  return [
    {
      name: 'stop',
      roomWide: true,
      usage: '',
      help: 'stop the answer being written (or react 🛑 on it) and the scene running here; react 🔁 on an answer to regenerate it',
      permission: 'anyone',
      scope: 'persona',
      async run(ctx) {
        const stopped = ctx.event ? controls.stopRequestResult(ctx.event.event_id) : undefined;
        await ctx.reply(stopped ? 'Stopped.' : "I'm not writing anything for you right now.");
      },
    },
  ];
}
