import type { RoomMember } from '../dispatch/outgoingMentions.js';

/**
 * The members an answer may ping, less those the tools' results name (`@Name` or their MXID):
 * tool output is data, and a model repeating it must not summon anyone. Someone the persona
 * names of its own accord is still linked, unless a result named them too.
 */
export function membersNotNamedIn(members: readonly RoomMember[], toolTexts: readonly string[]): RoomMember[] {
  if (toolTexts.length === 0) return [...members];
  const text = toolTexts.join('\n').toLowerCase();
  return members.filter(({ userId, displayName }) => {
    if (text.includes(userId.toLowerCase())) return false;
    const name = displayName?.trim().toLowerCase();
    return !(name && text.includes(`@${name}`));
  });
}
