import anyAscii from 'any-ascii';

/**
 * Display names and Matrix IDs of personas are separate things: any Unicode name (`Zoë`,
 * `Ōkami`, `小月`) is a display name; the user ID's localpart (after the persona prefix) is
 * derived from it by transliteration, or given by the admin.
 */

/** In code points: long enough for any real name, short enough for a pill and a prompt. */
export const MAX_DISPLAY_NAME_LENGTH = 64;
/** Leaves room for the prefix and domain within Matrix's 255-character user ID limit. */
export const MAX_PERSONA_ID_LENGTH = 64;
/** What the registration's namespace regex accepts after the prefix. */
export const PERSONA_ID_PATTERN = '^[a-z0-9._=-]+$';
const ID_RE = new RegExp(PERSONA_ID_PATTERN);

// Characters that make a name lie about itself or break the lines it is shown in: control
// characters, line and paragraph separators, and everything Unicode says is invisible
// (Default_Ignorable_Code_Point: zero-width spaces and joiners, bidi marks, overrides and
// isolates, the byte-order mark, Hangul fillers, variation selectors, tags...): 'Fe\u200Brn'
// displayed exactly like Fern.
const HOSTILE_RE = /[\p{Cc}\p{Default_Ignorable_Code_Point}\u2028\u2029]/u;
// An emoji sequence may hold invisible joiners and selectors (👩‍🔬, ❤️‍🔥, 🏳️‍🌈): they are
// part of the picture, not hidden text, so the whole sequence is allowed.
const EMOJI_SEQUENCE_RE = /\p{Extended_Pictographic}[\p{Emoji_Modifier}\uFE0F]*(?:\u200D\p{Extended_Pictographic}[\p{Emoji_Modifier}\uFE0F]*)*/gu;

const codePoint = (ch: string): string => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Why a string cannot be a persona's display name, or null when it can. */
export function displayNameProblem(name: string): string | null {
  if (name.trim().length === 0) return 'the name is empty';
  if (name !== name.trim()) return 'the name starts or ends with a space';
  const length = [...name].length;
  if (length > MAX_DISPLAY_NAME_LENGTH) return `the name is ${length} characters long; at most ${MAX_DISPLAY_NAME_LENGTH} are allowed`;
  const hostile = [...name.replace(EMOJI_SEQUENCE_RE, '')].filter((ch) => HOSTILE_RE.test(ch));
  if (hostile.length > 0) return `the name contains invisible or control characters (${[...new Set(hostile)].map(codePoint).join(' ')})`;
  return null;
}

/** Why a string cannot be the ID part of a persona's user ID, or null when it can. */
export function personaIdProblem(id: string): string | null {
  if (id.length === 0) return 'the ID is empty';
  if (id.length > MAX_PERSONA_ID_LENGTH) return `the ID is longer than ${MAX_PERSONA_ID_LENGTH} characters`;
  if (!ID_RE.test(id)) {
    const bad = [...new Set([...id].filter((ch) => !/[a-z0-9._=-]/.test(ch)))].map((ch) => `'${ch}'`).join(' ');
    return `IDs may only contain a-z, 0-9, '.', '_', '=' and '-' (not ${bad})`;
  }
  return null;
}

/**
 * The ID a display name suggests: transliterated to ASCII (`Zoë` -> `zoe`, `小月` -> `xiaoyue`),
 * lowercased, spaces to `_`, other characters Matrix does not allow dropped. Names that were
 * already valid IDs once lowercased (every name before Unicode names) keep exactly that ID.
 * Null when nothing usable is left (`???`).
 */
export function suggestPersonaId(name: string): string | null {
  const id = anyAscii(name.normalize('NFC'))
    .toLowerCase()
    .replace(/\s+/g, '_')
    .replace(/[^a-z0-9._=-]/g, '')
    .slice(0, MAX_PERSONA_ID_LENGTH)
    .replace(/^[._=-]+|[._=-]+$/g, '');
  return id.length > 0 ? id : null;
}

export type PersonaIdChoice = { ok: true; id: string } | { ok: false; error: string };

/**
 * The ID for a new persona: the admin's `--id` when given (refused if taken), else the
 * suggestion, de-duplicated with `_2`, `_3`... against `isTaken` (live, despawned and
 * deactivated IDs alike: a deactivated user ID can never be registered again).
 */
export function choosePersonaId(name: string, isTaken: (id: string) => boolean, explicit?: string | null): PersonaIdChoice {
  if (explicit != null) {
    const problem = personaIdProblem(explicit);
    if (problem) return { ok: false, error: `Invalid --id '${explicit}': ${problem}.` };
    if (isTaken(explicit)) return { ok: false, error: `The ID '${explicit}' is already taken; choose another --id.` };
    return { ok: true, id: explicit };
  }
  const base = suggestPersonaId(name);
  if (!base) return { ok: false, error: `Cannot make a Matrix ID from the name '${name}'; give one with --id (a-z, 0-9, '.', '_', '=', '-').` };
  if (!isTaken(base)) return { ok: true, id: base };
  for (let n = 2; n <= 99; n++) {
    const suffix = `_${n}`;
    const candidate = base.slice(0, MAX_PERSONA_ID_LENGTH - suffix.length) + suffix;
    if (!isTaken(candidate)) return { ok: true, id: candidate };
  }
  return { ok: false, error: `The IDs derived from '${name}' (${base}, ${base}_2 ... ${base}_99) are all taken; give one with --id.` };
}
