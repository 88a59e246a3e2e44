/**
 * `!converse <turns> <topic>`: the personas in the room talk among themselves about the topic
 * for exactly that many messages (see scenes/). Anyone in the room may start one, as anyone
 * may end one by writing: a scene is a few messages within the room's turn budget, nothing a
 * moderator needs to guard.
 */
import { threadRootId } from '../matrix/relations.js';
import type { Persona } from '../personas/Persona.js';
import { MISSING_TURNS_OR_TOPIC, sceneStarted, tooFewPersonas, turnsOutOfRange } from '../scenes/messages.js';
import { parseConverse, type SceneStart } from '../scenes/scene.js';
import { UsageError, type Command } from './CommandTable.js';

export interface SceneCommandDeps {
  /** The personas in the room that may speak, in roster order. */
  speakers(roomId: string): Promise<Persona[]>;
  /** The room's turn budget (its override, else the bridge's). */
  turnLimit(roomId: string): number;
  /** SceneDirector.start, looked up late (the director is built after the command table). */
  start(start: SceneStart): void;
  /**
   * Why this person may not start a scene now (its turns are charged to them, and their rate
   * limit is reached), or null when they may.
   */
  refusal?(personId: string): string | null;
  prefix: string;
}

export function sceneCommands(deps: SceneCommandDeps): Command[] {
  return [
    {
      name: 'converse',
      where: 'group',
      usage: '<turns> <topic>',
      help: 'the personas here talk among themselves about the topic, exactly <turns> messages (up to the turn budget); anything you write, or !stop, ends it',
      permission: 'anyone',
      run: async (ctx) => {
        if (!ctx.event || !ctx.roomId) throw new UsageError('This command works in a room only.');
        const roomId = ctx.roomId;
        const budget = deps.turnLimit(roomId);
        const parsed = parseConverse(ctx.rest, budget);
        if (!parsed.ok && parsed.problem === 'syntax') throw new UsageError(MISSING_TURNS_OR_TOPIC);
        const present = await deps.speakers(roomId);
        if (present.length < 2) return ctx.fail(tooFewPersonas(present.length));
        if (!parsed.ok) {
          if (budget < 1) return ctx.fail(turnsOutOfRange(parsed.asked, budget, deps.prefix));
          throw new UsageError(turnsOutOfRange(parsed.asked, budget, deps.prefix));
        }
        const refused = deps.refusal?.(ctx.sender) ?? null;
        if (refused) return ctx.fail(refused);
        const { event } = ctx;
        await ctx.reply(sceneStarted(parsed.turns, parsed.topic, present.map((p) => p.name), deps.prefix));
        deps.start({
          roomId,
          topic: parsed.topic,
          turns: parsed.turns,
          startedBy: ctx.sender,
          start: { eventId: event.event_id, sender: event.sender, body: String(event.content.body ?? '') },
          threadRootId: threadRootId(event.content),
        });
      },
    },
  ];
}
