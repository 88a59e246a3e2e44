import { Ajv, type ValidateFunction } from 'ajv';
import { ajvKeyPath, describeAjvError } from '../config/ajvErrors.js';
import { displayNameProblem } from '../personas/personaId.js';
import { ImportError, MAX_CARD_FIELD_CHARS } from './ImportError.js';
import type { ImportPlan, PersonaDraft, SkippedEntry } from './PersonaDraft.js';

/**
 * PluralKit and Tupperbox exports: one persona per member (tupper). A member that cannot be
 * a persona (no name, an unusable name, a name another member already has) is skipped with the
 * reason; the file as a whole is refused only when it is not such an export at all.
 */

/** One import creates at most this many personas: each is a Matrix account, made one by one. */
export const MAX_IMPORT_PERSONAS = 200;

const ajv = new Ajv({ allErrors: true, strict: true });
const member = { type: 'object' } as const;
const optionalText = { type: ['string', 'null'], maxLength: MAX_CARD_FIELD_CHARS } as const;

interface PluralKitExport {
  version: number;
  name?: string | null;
  members: Array<Record<string, unknown>>;
}
const validatePluralKit: ValidateFunction<PluralKitExport> = ajv.compile({
  type: 'object',
  required: ['version', 'members'],
  properties: { version: { type: 'integer' }, name: optionalText, members: { type: 'array', items: member } },
});

interface TupperboxExport {
  tuppers: Array<Record<string, unknown>>;
  groups?: Array<Record<string, unknown>>;
}
const validateTupperbox: ValidateFunction<TupperboxExport> = ajv.compile({
  type: 'object',
  required: ['tuppers'],
  properties: { tuppers: { type: 'array', items: member }, groups: { type: 'array', items: member } },
});

export function looksLikePluralKit(value: Record<string, unknown>): boolean {
  return Array.isArray(value.members) && ('version' in value || 'switches' in value);
}

export function looksLikeTupperbox(value: Record<string, unknown>): boolean {
  return Array.isArray(value.tuppers);
}

function invalid(what: string, validate: ValidateFunction): ImportError {
  const problems = (validate.errors ?? []).slice(0, 5).map((e) => `${ajvKeyPath(e)} ${describeAjvError(e)}`);
  return new ImportError('invalid', `Invalid ${what}: ${problems.join('; ')}.`);
}

/** A string field of a member, trimmed; anything else (absent, null, a number) is empty. */
function str(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  return typeof value === 'string' ? value.trim().slice(0, MAX_CARD_FIELD_CHARS) : '';
}

const httpUrl = (url: string): string | null => {
  try {
    return /^https?:$/.test(new URL(url).protocol) ? url : null;
  } catch {
    return null;
  }
};

interface MemberFields {
  /** The member's name in the export, for the summary when skipped. */
  label: string;
  name: string;
  description: string;
  pronouns: string;
  avatarUrl: string;
  /** The system or group it belongs to, for the prompt. */
  belongsTo: string;
}

function memberPrompt(m: MemberFields): string {
  const parts = [`You are ${m.name}${m.belongsTo ? `, one of ${m.belongsTo}` : ''}.`];
  if (m.pronouns) parts.push(`Your pronouns are ${m.pronouns}.`);
  if (m.description) parts.push(m.description);
  return parts.join('\n\n');
}

function plan(format: string, source: string, members: MemberFields[]): ImportPlan {
  if (members.length > MAX_IMPORT_PERSONAS) {
    throw new ImportError('too_large', `The export has ${members.length} members; one import creates at most ${MAX_IMPORT_PERSONAS} personas.`);
  }
  const personas: PersonaDraft[] = [];
  const skipped: SkippedEntry[] = [];
  const seen = new Set<string>();
  for (const m of members) {
    if (!m.name) {
      skipped.push({ name: m.label || '(unnamed)', reason: 'it has no name' });
      continue;
    }
    const problem = displayNameProblem(m.name);
    if (problem) {
      skipped.push({ name: m.label, reason: problem });
      continue;
    }
    const key = m.name.toLowerCase();
    if (seen.has(key)) {
      skipped.push({ name: m.name, reason: 'another member of this export has the same name' });
      continue;
    }
    seen.add(key);
    const avatar = m.avatarUrl ? httpUrl(m.avatarUrl) : null;
    personas.push({
      name: m.name,
      prompt: memberPrompt(m),
      firstMessage: null,
      avatar: avatar ? { kind: 'url', url: avatar } : null,
      traits: m.pronouns ? { pronouns: m.pronouns } : {},
      card: m.description ? { creator_notes: `Imported from ${format}.` } : {},
      source,
    });
  }
  return { format, personas, skipped };
}

/** PluralKit `pk;export` (versions 1 and 2 have the member fields we use in common). */
export function pluralKitToPlan(value: Record<string, unknown>): ImportPlan {
  if (!validatePluralKit(value)) throw invalid('PluralKit export', validatePluralKit);
  if (value.version !== 1 && value.version !== 2) {
    throw new ImportError('unknown_format', `PluralKit export version ${value.version} is not supported (versions 1 and 2 are).`);
  }
  const system = typeof value.name === 'string' && value.name.trim() ? `the system ${value.name.trim()}` : '';
  const members = value.members.map((m) => ({
    label: str(m, 'name'),
    name: str(m, 'display_name') || str(m, 'name'),
    description: str(m, 'description'),
    pronouns: str(m, 'pronouns'),
    avatarUrl: str(m, 'avatar_url'),
    belongsTo: system,
  }));
  return plan(`PluralKit export (version ${value.version})`, 'pluralkit', members);
}

/** Tupperbox `tul!export`: `nick` is the name shown when set, as PluralKit's own importer reads it. */
export function tupperboxToPlan(value: Record<string, unknown>): ImportPlan {
  if (!validateTupperbox(value)) throw invalid('Tupperbox export', validateTupperbox);
  const groups = new Map<unknown, string>();
  for (const g of value.groups ?? []) if (str(g, 'name')) groups.set(g.id, str(g, 'name'));
  const members = value.tuppers.map((t) => ({
    label: str(t, 'name'),
    name: str(t, 'nick') || str(t, 'name'),
    description: str(t, 'description'),
    pronouns: '',
    avatarUrl: str(t, 'avatar_url'),
    belongsTo: groups.has(t.group_id) ? `the group ${groups.get(t.group_id)}` : '',
  }));
  return plan('Tupperbox export', 'tupperbox', members);
}
