import { MAX_PERSONA_ID_LENGTH, PERSONA_ID_PATTERN } from './personaId.js';
import { MAX_PERSONA_NAME_LENGTH } from './personaName.js';
import type { VoiceReplies } from './Persona.js';

/**
 * JSON Schema of a seed persona file (personas/*.yaml). The same schema ships as
 * personas/persona.schema.json for editors (a unit test keeps the two identical).
 */
export const personaFileSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'matrix-appservice-personas seed persona',
  description: 'One persona, provisioned at start: registered, profile set, rooms joined.',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'prompt'],
  properties: {
    name: {
      description: 'Displayname, any Unicode; the Matrix ID is @<persona_prefix><id>:<domain>, the id derived from the name (Zoë -> zoe) unless given.',
      type: 'string',
      minLength: 1,
      maxLength: MAX_PERSONA_NAME_LENGTH,
    },
    id: {
      description: 'The Matrix ID part after the persona prefix (a-z, 0-9, . _ = -); default: derived from the name.',
      type: 'string',
      pattern: PERSONA_ID_PATTERN,
      maxLength: MAX_PERSONA_ID_LENGTH,
    },
    prompt: { description: 'The system prompt.', type: 'string', minLength: 1 },
    traits: { description: 'Free-form traits given to the model with the prompt (e.g. Big Five scores).', type: 'object' },
    model: { description: 'Overrides llm.model: a model id, a backend name from llm.backends, or backend/model.', type: 'string', minLength: 1 },
    temperature: { description: 'Overrides llm.temperature.', type: 'number', minimum: 0, maximum: 2 },
    avatar: {
      description: 'mxc:// URI, http(s):// URL, file:// URL, or a path relative to this file (PNG, JPEG, GIF or WebP).',
      type: 'string',
      minLength: 1,
    },
    tools: {
      description: 'Tools it may call: server/tool or server/* (servers from tools.mcp_servers, or the built-in memory and images); none by default.',
      type: 'array',
      items: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,32}/(\\*|[^\\s*]{1,128})$' },
      uniqueItems: true,
    },
    voice: {
      description: 'The voice its answers are spoken in (a voice name of speech.synthesis, e.g. "alloy" or "en-us"); absent: it writes only.',
      type: 'string',
      minLength: 1,
      maxLength: 100,
    },
    voice_replies: {
      description: 'When a persona with a voice speaks: to_voice (answers voice messages with voice, the default), always, or never.',
      type: 'string',
      enum: ['to_voice', 'always', 'never'],
    },
    rooms: {
      description: 'Room IDs (!id:server) or aliases (#alias:server) to join.',
      type: 'array',
      items: { type: 'string', pattern: '^[!#][^:]+:.+$' },
      uniqueItems: true,
    },
  },
} as const;

/** A validated persona file. */
export interface PersonaFileDefinition {
  name: string;
  id?: string;
  prompt: string;
  traits?: Record<string, unknown>;
  model?: string;
  temperature?: number;
  avatar?: string;
  tools?: string[];
  voice?: string;
  voice_replies?: VoiceReplies;
  rooms?: string[];
}
