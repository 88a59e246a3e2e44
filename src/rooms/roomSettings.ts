/**
 * A room's persona settings, kept in the room itself as a state event so every member's
 * client can see them and they survive anything that happens to the bridge's database.
 * Pure: the schema, validation and the rendering for `!room settings`.
 */
import { Ajv } from 'ajv';
import { ajvKeyPath, describeAjvError } from '../config/ajvErrors.js';
import { foldName } from '../util/nameFolding.js';

/** The custom state event (state_key ''). */
export const ROOM_SETTINGS_EVENT = 'io.github.matrix-appservice-personas.room';

export const ORDER_MODES = ['mention', 'natural', 'list', 'pooled', 'manual'] as const;
export type OrderMode = (typeof ORDER_MODES)[number];

/** What each order mode does, for help and the user guide's wording (docs/user-guide.md). */
export const ORDER_DESCRIPTIONS: Record<OrderMode, string> = {
  mention: 'a persona answers when it is mentioned or replied to; several mentioned answer in turn',
  natural: 'a persona named in the last message answers; otherwise at most one speaks up, by its talkativeness',
  list: "every persona answers each person's message, in the order they joined the room",
  pooled: 'one persona answers each message, at random among those that did not speak since the last one',
  manual: 'personas speak only when asked with !next [Name]',
};

/** The line help shows in a group room: its order mode and what it means. */
export function describeOrder(settings: RoomSettings, prefix = '!'): string {
  const mode = settings.order ?? 'mention';
  return `Order: ${mode}${settings.order ? '' : ' (default)'} — ${ORDER_DESCRIPTIONS[mode].replace('!next', `${prefix}next`)}.`;
}

export interface RoomSettings {
  /** Who answers a message, and in which order (default `mention`). */
  order?: OrderMode;
  /** Persona messages allowed since a person last spoke; overrides `dispatch.turn_budget`. */
  turn_budget?: number;
  /** Persona names that never answer in this room. */
  muted?: string[];
  /** Persona name -> how likely it speaks unprompted in `natural` order, 0..1. */
  talkativeness?: Record<string, number>;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    order: { type: 'string', enum: [...ORDER_MODES] },
    turn_budget: { type: 'integer', minimum: 0, maximum: 1000 },
    muted: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
    talkativeness: { type: 'object', additionalProperties: { type: 'number', minimum: 0, maximum: 1 } },
  },
} as const;

const validate = new Ajv({ allErrors: true }).compile<RoomSettings>(schema);

export type ParsedSettings = { ok: true; settings: RoomSettings } | { ok: false; problems: string[] };

/** Validates the state event's content; problems name the key, as the config errors do. */
export function parseRoomSettings(content: unknown): ParsedSettings {
  if (validate(content)) return { ok: true, settings: content };
  const problems = (validate.errors ?? []).map((e) => `${ajvKeyPath(e)}: ${describeAjvError(e)}`);
  return { ok: false, problems: problems.length > 0 ? problems : ['(root): is invalid'] };
}

/** True when `name` is muted in the settings (names compare without regard to case or accents). */
export function isMuted(settings: RoomSettings | undefined, name: string): boolean {
  const wanted = foldName(name);
  return (settings?.muted ?? []).some((m) => foldName(m) === wanted);
}

/**
 * How likely the persona speaks unprompted in `natural` order, 0..1: the room's override
 * (names compare without regard to case or accents), else the persona's own `talkativeness` trait (a number
 * 0..1, as SillyTavern cards carry it), else undefined (the dispatcher's default applies).
 */
export function talkativenessIn(settings: RoomSettings | undefined, persona: { name: string; traits: Record<string, unknown> }): number | undefined {
  const wanted = foldName(persona.name);
  const override = Object.entries(settings?.talkativeness ?? {}).find(([n]) => foldName(n) === wanted)?.[1];
  if (override !== undefined) return override;
  const trait = persona.traits.talkativeness;
  const own = typeof trait === 'number' ? trait : typeof trait === 'string' && trait.trim() !== '' ? Number(trait) : NaN;
  return own >= 0 && own <= 1 ? own : undefined;
}

/** The settings with `name` muted or unmuted (a new object; other keys kept). */
export function withMuted(settings: RoomSettings, name: string, muted: boolean): RoomSettings {
  const others = (settings.muted ?? []).filter((m) => foldName(m) !== foldName(name));
  const next: RoomSettings = { ...settings, muted: muted ? [...others, name] : others };
  if (next.muted?.length === 0) delete next.muted;
  return next;
}

/** What `!room settings` shows; `defaultBudget` is what applies without an override. */
export function describeRoomSettings(settings: RoomSettings, defaultBudget: number, prefix = '!'): string {
  const talk = Object.entries(settings.talkativeness ?? {});
  return [
    describeOrder(settings, prefix).replace(/\.$/, ''),
    `Turn budget: ${settings.turn_budget ?? defaultBudget}${settings.turn_budget === undefined ? ' (default)' : ''} persona messages since a person last spoke`,
    `Muted: ${settings.muted?.length ? settings.muted.join(', ') : 'nobody'}`,
    `Talkativeness: ${talk.length ? talk.map(([n, v]) => `${n} ${v}`).join(', ') : 'default'}`,
  ].join('\n');
}

/**
 * The power level needed to change the room's settings: what the room requires to send the
 * state event itself (its `events` entry, else `state_default`, else 50, as the spec says).
 */
export function requiredLevel(powerLevels: Record<string, unknown> | null): number {
  const events = powerLevels?.events as Record<string, unknown> | undefined;
  const forEvent = events?.[ROOM_SETTINGS_EVENT];
  if (typeof forEvent === 'number') return forEvent;
  const stateDefault = powerLevels?.state_default;
  return typeof stateDefault === 'number' ? stateDefault : 50;
}

/** A user's power level in the room (`users`, else `users_default`, else 0). */
export function levelOf(powerLevels: Record<string, unknown> | null, userId: string): number {
  const users = powerLevels?.users as Record<string, unknown> | undefined;
  const own = users?.[userId];
  if (typeof own === 'number') return own;
  const usersDefault = powerLevels?.users_default;
  return typeof usersDefault === 'number' ? usersDefault : 0;
}

/** Whether the user may send `m.room.message` (events, else events_default, else 0). */
export function maySendMessages(powerLevels: Record<string, unknown> | null, userId: string): boolean {
  if (!powerLevels) return true;
  const events = powerLevels.events as Record<string, unknown> | undefined;
  const forMessage = events?.['m.room.message'];
  const needed = typeof forMessage === 'number' ? forMessage : typeof powerLevels.events_default === 'number' ? powerLevels.events_default : 0;
  return levelOf(powerLevels, userId) >= needed;
}
