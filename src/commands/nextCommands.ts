/**
 * `!next [Name]`: a persona answers now, without being mentioned (the dispatcher picks who,
 * see Dispatcher.answerNow). Anyone in the room may use it; the turn budget applies as if a
 * person had spoken.
 */
import type { RoomEvent } from '../matrix/events.js';
import type { NextOutcome } from '../dispatch/Dispatcher.js';
import { AmbiguousName } from '../util/nameFolding.js';
import { UsageError, type Command } from './CommandTable.js';

export interface NextCommandDeps {
  /** Dispatcher.answerNow, looked up late (the dispatcher is built after the command table). */
  answerNow(command: RoomEvent, name: string | undefined): Promise<NextOutcome>;
}

export function nextCommands(deps: NextCommandDeps): Command[] {
  return [
    {
      name: 'next',
      where: 'group',
      usage: '[Name]',
      help: "make the named persona, or the next one by the room's order, answer the last message now",
      permission: 'anyone',
      run: async (ctx) => {
        if (!ctx.event || !ctx.roomId) throw new UsageError('This command works in a room only.');
        const name = ctx.rest.trim() || undefined;
        const outcome = await deps.answerNow(ctx.event, name);
        if (outcome.queued) return;
        switch (outcome.reason) {
          case 'no-personas':
            return ctx.fail('No persona here can answer: invite one first (or unmute one).');
          case 'unknown-persona':
            throw new UsageError(`No persona called '${outcome.name ?? ''}' is in this room (or it is muted).`);
          case 'ambiguous-persona':
            throw new AmbiguousName(outcome.name, outcome.candidates);
          case 'nothing-to-answer':
            return ctx.fail('There is nothing to answer yet: say something first.');
          case 'rate-limited':
            return ctx.fail(outcome.notice);
        }
      },
    },
  ];
}
