import type { CardData } from './cardSchema.js';

/**
 * Maps a card's fields into one persona prompt, following the V2 spec's rules:
 * `{{char}}`/`<BOT>` become the character's name (its nickname when set, V3), `{{user}}`/`<USER>`
 * become "the user" (a persona talks to many people; the prompt builder names them),
 * `{{original}}` in a system prompt is dropped (our own instructions follow the persona
 * prompt anyway), and creator notes, creator and tags never go into a prompt.
 *
 * A card with only a description maps to exactly that description, so a persona exported
 * as a card (its prompt in `description`) comes back with the same prompt.
 */
export function cardPrompt(data: CardData): string {
  const char = charName(data);
  const sub = (s: string | undefined): string => substitute(s ?? '', char, 'the user').trim();
  const parts: string[] = [];
  const system = sub(data.system_prompt).replace(/\{\{original\}\}/gi, '').trim();
  if (system) parts.push(system);
  const description = sub(data.description);
  if (description) parts.push(description);
  const personality = sub(data.personality);
  if (personality) parts.push(`${char}'s personality: ${personality}`);
  const scenario = sub(data.scenario);
  if (scenario) parts.push(`Scenario: ${scenario}`);
  const examples = sub(data.mes_example);
  if (examples) parts.push(`Examples of how ${char} writes (style only, not part of the conversation):\n${examples}`);
  const post = sub(data.post_history_instructions);
  if (post) parts.push(post);
  return parts.join('\n\n');
}

/** The greeting, with `{{char}}` filled in now and `{{user}}` kept for whoever opens the DM. */
export function cardFirstMessage(data: CardData): string | null {
  const first = substitute(data.first_mes ?? '', charName(data), '{{user}}').trim();
  return first || null;
}

/** Fills `{{user}}` in a stored first message with the name of who it greets. */
export function greet(firstMessage: string, userName: string): string {
  return firstMessage.replace(/\{\{user\}\}/gi, () => userName);
}

function charName(data: CardData): string {
  return data.nickname?.trim() || data.name.trim();
}

// Functions as replacements: a name containing `$&` must not be read as a pattern.
function substitute(text: string, char: string, user: string): string {
  return text.replace(/\{\{char\}\}|<BOT>/gi, () => char).replace(/\{\{user\}\}|<USER>/gi, () => user);
}
