import type { BridgeConfig } from '../config/Config.js';
import { displayNameProblem, MAX_DISPLAY_NAME_LENGTH, suggestPersonaId } from './personaId.js';

/**
 * Persona names are display names: any Unicode (`Zoë`, `Ōkami`, `小月`), checked by
 * displayNameProblem. The user ID is separate (see personaId.ts): derived from the name, or
 * given with `--id` (chat) / `id:` (seed files).
 */
export const MAX_PERSONA_NAME_LENGTH = MAX_DISPLAY_NAME_LENGTH;

/** Why a name cannot be a persona name, or null when it can. */
export function personaNameProblem(name: string): string | null {
  return displayNameProblem(name);
}

/** The `<id>` of `@<persona_prefix><id>:<domain>` (what `--id` gave); the user ID itself when it is not of that form. */
export function personaIdFromUserId(userId: string, config: Pick<BridgeConfig, 'homeserver' | 'appservice'>): string {
  const head = `@${config.appservice.persona_prefix}`;
  const tail = `:${config.homeserver.domain}`;
  return userId.startsWith(head) && userId.endsWith(tail) ? userId.slice(head.length, -tail.length) : userId;
}

/** `@<persona_prefix><id>:<domain>`. */
export function personaUserIdFromId(id: string, config: Pick<BridgeConfig, 'homeserver' | 'appservice'>): string {
  return `@${config.appservice.persona_prefix}${id}:${config.homeserver.domain}`;
}

/**
 * The user ID a name derives to, without de-duplication (seed files, tools): the name
 * transliterated and lowercased (`Zoë` -> `zoe`); exactly the lowercased name for every name
 * that was valid before Unicode names. Null when the name gives no usable ID (`???`).
 */
export function derivedPersonaUserId(name: string, config: Pick<BridgeConfig, 'homeserver' | 'appservice'>): string | null {
  const id = suggestPersonaId(name);
  return id === null ? null : personaUserIdFromId(id, config);
}

/** As derivedPersonaUserId, for names known to derive (tools, benchmarks with ASCII names). */
export function personaUserId(name: string, config: Pick<BridgeConfig, 'homeserver' | 'appservice'>): string {
  return derivedPersonaUserId(name, config) ?? personaUserIdFromId(name.toLowerCase(), config);
}
