// What people read about scenes (`!converse`), and the direction a persona's prompt gets in
// one: the one place for these strings.

/** `!converse` with too few personas who may speak. */
export function tooFewPersonas(present: number): string {
  return `A scene needs at least two personas in this room who may speak (not muted); ${present === 0 ? 'there is none' : 'there is only one'}. Invite another persona first.`;
}

/** `!converse` asking for more turns than the room's turn budget allows (or a budget of 0). */
export function turnsOutOfRange(asked: string, budget: number, prefix: string): string {
  if (budget < 1) {
    return `This room's turn budget is 0, so personas may not talk among themselves here; a moderator can raise it with ${prefix}room set turn_budget <N>.`;
  }
  return `The number of turns is a whole number from 1 to ${budget} (this room's turn budget), not '${asked}'.`;
}

/** `!converse` without a topic, or without a number of turns. */
export const MISSING_TURNS_OR_TOPIC = 'Give the number of turns, then the topic.';

/** The bot's answer to `!converse` once the scene is on its way. */
export function sceneStarted(turns: number, topic: string, names: string[], prefix: string): string {
  return `Scene: ${turns} turn${turns === 1 ? '' : 's'} about "${topic}" between ${listOf(names)}. Say anything, or ${prefix}stop, to end it early.`;
}

/** Why a scene ended, as the room is told (null: nothing to say). */
export type SceneEndReason = 'finished' | 'person-spoke' | 'stopped' | 'replaced' | 'shutdown' | 'budget' | 'rate-limit' | 'failed' | 'too-few-personas';

/** The notice for a scene's end, or null when the room needs none (a person's message ended it). */
export function sceneEnded(reason: SceneEndReason, taken: number, turns: number, prefix: string): string | null {
  const progress = `${taken} of ${turns} turn${turns === 1 ? '' : 's'}`;
  switch (reason) {
    case 'finished':
      return `The scene is over (${progress}). To go on: ${prefix}converse again, ${prefix}next, or just say something.`;
    case 'stopped':
      return `Scene stopped after ${progress}.`;
    case 'shutdown':
      return `The bridge is stopping, so the scene ends here (${progress}); scenes do not resume after a restart. Send ${prefix}converse to start a new one.`;
    case 'budget':
      return `The scene stops here (${progress}): this room's turn budget is used up. Say something, or ${prefix}next, to go on.`;
    case 'rate-limit':
      return `The scene stops here (${progress}): its turns count against the rate limit of the person who started it, and that is reached for now.`;
    case 'failed':
      return `The scene stops here (${progress}): a persona could not answer.`;
    case 'too-few-personas':
      return `The scene stops here (${progress}): fewer than two personas here may speak.`;
    case 'person-spoke':
    case 'replaced':
      return null;
  }
}

/**
 * The scene direction added to the speaking persona's system prompt: the topic, who else is
 * in the scene, and where in it this turn is.
 */
export function sceneDirection(topic: string, speaker: string, others: string[], turn: number, turns: number): string {
  const last = turn === turns ? ' This is the last turn: bring it to a close.' : '';
  return (
    `Scene direction: you are in a conversation with ${listOf(others)} about: ${topic}\n` +
    `This is turn ${turn} of ${turns}. Speak as ${speaker} to the others, in a few sentences: ` +
    `take up what was just said and carry the conversation on.${last}`
  );
}

/** What stands in the prompt for the `!converse` message the first turn follows. */
export function sceneOpening(topic: string): string {
  return `Let's hear you talk about this among yourselves: ${topic}`;
}

function listOf(names: string[]): string {
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? '');
}
