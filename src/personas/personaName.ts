import type { BridgeConfig } from '../config/Config.js';

/** Letters, digits, `-` and `_`: all map onto valid Matrix localpart characters once lowercased. */
export const PERSONA_NAME_PATTERN = '^[A-Za-z0-9_-]+$';
const NAME_RE = new RegExp(PERSONA_NAME_PATTERN);
/** Leaves room for the prefix and domain within Matrix's 255-character user ID limit. */
export const MAX_PERSONA_NAME_LENGTH = 64;

/** Why a name cannot be a persona name, or null when it can. */
export function personaNameProblem(name: string): string | null {
  if (name.length === 0) return 'the name is empty';
  if (name.length > MAX_PERSONA_NAME_LENGTH) return `the name is longer than ${MAX_PERSONA_NAME_LENGTH} characters`;
  if (!NAME_RE.test(name)) {
    const bad = [...new Set([...name].filter((ch) => !/[A-Za-z0-9_-]/.test(ch)))].map((ch) => `'${ch}'`).join(' ');
    return `names may only contain letters, digits, '-' and '_' (not ${bad})`;
  }
  return null;
}

/** `@<persona_prefix><name lowercased>:<domain>`; Matrix localparts must be lowercase. */
export function personaUserId(name: string, config: Pick<BridgeConfig, 'homeserver' | 'appservice'>): string {
  return `@${config.appservice.persona_prefix}${name.toLowerCase()}:${config.homeserver.domain}`;
}
