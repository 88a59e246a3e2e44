import { OUR_EXTENSION, type CardData } from './cardSchema.js';
import { CARD_CHUNKS } from './characterCard.js';
import type { CardExtras } from './PersonaDraft.js';
import { isPng, rewritePngText } from './pngText.js';

/** What an export needs of a persona. */
export interface ExportablePersona {
  name: string;
  userId: string;
  prompt: string;
  firstMessage: string | null;
  traits: Record<string, unknown>;
  model: string | null;
  temperature: number | null;
  avatarUrl: string | null;
  card: CardExtras;
}

export interface CardV2 {
  spec: 'chara_card_v2';
  spec_version: '2.0';
  data: Required<Omit<CardData, 'nickname' | 'group_only_greetings' | 'assets' | 'character_book'>> & Pick<CardData, 'character_book'>;
}

/**
 * A persona as a Character Card V2, every field the spec requires present. The prompt goes
 * into `description` (where every card reader looks), so importing the card again gives the
 * same prompt; what a card reader would not know (model, temperature, traits, the Matrix
 * avatar and ID) goes into our own extension, and the extras kept from an imported card
 * (creator notes, tags, lorebook, others' extensions) are given back unchanged.
 */
export function personaToCard(p: ExportablePersona): CardV2 {
  const ours: Record<string, unknown> = { user_id: p.userId };
  if (p.model !== null) ours.model = p.model;
  if (p.temperature !== null) ours.temperature = p.temperature;
  if (Object.keys(p.traits).length > 0) ours.traits = p.traits;
  if (p.avatarUrl) ours.avatar = p.avatarUrl;
  return {
    spec: 'chara_card_v2',
    spec_version: '2.0',
    data: {
      name: p.name,
      description: p.prompt,
      personality: '',
      scenario: '',
      first_mes: p.firstMessage ?? '',
      mes_example: '',
      creator_notes: p.card.creator_notes ?? '',
      system_prompt: '',
      post_history_instructions: '',
      alternate_greetings: p.card.alternate_greetings ?? [],
      tags: p.card.tags ?? [],
      creator: p.card.creator ?? '',
      character_version: p.card.character_version ?? '',
      extensions: { ...(p.card.extensions ?? {}), [OUR_EXTENSION]: ours },
      ...(p.card.character_book ? { character_book: p.card.character_book } : {}),
    },
  };
}

/** The card as a JSON file's bytes. */
export function cardJson(card: CardV2): Buffer {
  return Buffer.from(`${JSON.stringify(card, null, 2)}\n`, 'utf8');
}

/**
 * The avatar with the card in a `chara` tEXt chunk (base64 of the UTF-8 JSON, as SillyTavern
 * writes it), replacing any card the image already carried. Null when the avatar is not a PNG:
 * without an image library it cannot be converted, and the JSON card still carries everything.
 */
export function cardPng(card: CardV2, avatar: Buffer): Buffer | null {
  if (!isPng(avatar)) return null;
  const text = Buffer.from(JSON.stringify(card), 'utf8').toString('base64');
  return rewritePngText(avatar, CARD_CHUNKS, { keyword: 'chara', text });
}

/** A file name for the card: the persona's ID is ASCII and unique, unlike its name. */
export function cardFilename(userId: string, ext: 'json' | 'png'): string {
  const localpart = userId.replace(/^@/, '').replace(/:.*$/, '');
  return `${localpart}.card.${ext}`;
}
