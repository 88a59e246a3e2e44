/** What the command framework itself says: unknown commands, and commands that need the bot. */

/**
 * An unknown command: what was typed, the one or two nearest commands that apply where it was
 * typed (none when nothing is close), and where the whole list is.
 */
export function unknownCommand(typed: string, nearest: string[], prefix: string): string {
  const near = nearest.length ? ` Did you mean ${nearest.join(' or ')}?` : '';
  return `Unknown command ${typed}.${near} ${prefix}help lists the commands that apply here.`;
}

/** The answer to an admin command in a room without the bot (see runsWithoutBot). */
export function needsBot(command: string, botUserId: string): string {
  return `${command} is an admin command for the bridge bot (${botUserId}), which is not in this room: send it in a direct chat with the bot, or invite the bot here.`;
}

/** A persona's own command (`!summary`) sent to a group room without naming one of its personas. */
export function whichPersona(command: string, names: string[]): string {
  return `${command}: which persona? Name one after the command, e.g. ${command} ${names[0]} (here: ${names.join(', ')}).`;
}
