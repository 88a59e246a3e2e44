import { MAX_CARD_FIELD_CHARS } from './ImportError.js';
import type { CharacterBook } from '../lore/book.js';

/**
 * JSON Schemas of the character card formats we read, lenient where real cards are: the V2
 * spec makes every field required, but cards in the wild omit empty ones, so only `name` is.
 * Unknown keys are allowed everywhere (the spec asks that they be kept, not refused).
 */
const text = { type: 'string', maxLength: MAX_CARD_FIELD_CHARS } as const;
const texts = { type: 'array', items: text, maxItems: 1000 } as const;

const lorebookEntry = {
  type: 'object',
  required: ['keys', 'content'],
  properties: {
    keys: texts,
    secondary_keys: texts,
    content: text,
    enabled: { type: 'boolean' },
    insertion_order: { type: 'number' },
    constant: { type: 'boolean' },
    case_sensitive: { type: 'boolean' },
    name: text,
    comment: text,
    priority: { type: 'number' },
    position: { type: 'string' },
  },
} as const;

/** Our own extension, written by `!persona export` and read back on import. */
export const OUR_EXTENSION = 'matrix_personas';
const ourExtension = {
  type: 'object',
  properties: {
    model: { type: 'string', minLength: 1 },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    traits: { type: 'object' },
    avatar: text,
    user_id: text,
  },
} as const;

export const cardDataSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: text,
    nickname: text,
    description: text,
    personality: text,
    scenario: text,
    first_mes: text,
    mes_example: text,
    creator_notes: text,
    system_prompt: text,
    post_history_instructions: text,
    alternate_greetings: texts,
    group_only_greetings: texts,
    tags: texts,
    creator: text,
    character_version: text,
    extensions: { type: 'object', properties: { [OUR_EXTENSION]: ourExtension } },
    character_book: {
      type: 'object',
      required: ['entries'],
      properties: { name: text, description: text, entries: { type: 'array', items: lorebookEntry, maxItems: 10_000 } },
    },
    assets: {
      type: 'array',
      maxItems: 1000,
      items: { type: 'object', required: ['type', 'uri'], properties: { type: text, uri: text, name: text, ext: text } },
    },
  },
} as const;

/** V2 and V3 wrap the data; the spec name and version are checked before this (clearer errors). */
export const wrappedCardSchema = {
  type: 'object',
  required: ['spec', 'spec_version', 'data'],
  properties: { spec: { type: 'string' }, spec_version: { type: 'string' }, data: cardDataSchema },
} as const;

/** A card's data as validated (every field optional but the name). */
export interface CardData {
  name: string;
  nickname?: string;
  description?: string;
  personality?: string;
  scenario?: string;
  first_mes?: string;
  mes_example?: string;
  creator_notes?: string;
  system_prompt?: string;
  post_history_instructions?: string;
  alternate_greetings?: string[];
  group_only_greetings?: string[];
  tags?: string[];
  creator?: string;
  character_version?: string;
  extensions?: Record<string, unknown> & {
    [OUR_EXTENSION]?: { model?: string; temperature?: number; traits?: Record<string, unknown>; avatar?: string; user_id?: string };
  };
  character_book?: CharacterBook;
  assets?: Array<{ type: string; uri: string; name?: string; ext?: string }>;
}
