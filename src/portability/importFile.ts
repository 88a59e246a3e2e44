import { refuseDeepJson } from './boundedJson.js';
import { cardToPlan, looksLikeCard, pngCardToPlan } from './characterCard.js';
import { formatBytes, ImportError, MAX_IMPORT_BYTES } from './ImportError.js';
import type { ImportPlan } from './PersonaDraft.js';
import { isPng } from './pngText.js';
import { looksLikePluralKit, looksLikeTupperbox, pluralKitToPlan, tupperboxToPlan } from './systemExports.js';
import { describeError } from '../util/describeError.js';

/**
 * Reads an import file of any supported kind, told apart by content (never by name or
 * Content-Type, which uploads get wrong): a PNG character card, a JSON character card (V1,
 * V2, V3), a PluralKit or a Tupperbox export. Throws an ImportError naming the problem;
 * nothing is created either way, this only plans.
 */
export function planImport(data: Buffer, filename = 'import'): ImportPlan {
  if (data.length === 0) throw new ImportError('empty', `${filename} is empty.`);
  if (data.length > MAX_IMPORT_BYTES) {
    throw new ImportError('too_large', `${filename} is ${formatBytes(data.length)}; imports are limited to ${formatBytes(MAX_IMPORT_BYTES)}.`);
  }
  if (isPng(data)) return pngCardToPlan(data, filename);
  if (data.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) {
    throw new ImportError('unknown_format', `${filename} is a zip archive (.charx?); export the card as PNG or JSON instead.`);
  }
  const text = data.toString('utf8').replace(/^\uFEFF/, '');
  refuseDeepJson(text, filename);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ImportError('bad_json', `${filename} is neither a PNG nor valid JSON: ${describeError(err)}.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ImportError('unknown_format', `${filename} holds JSON ${Array.isArray(value) ? 'array' : typeof value}, not a card or an export.`);
  }
  const record = value as Record<string, unknown>;
  if (looksLikePluralKit(record)) return pluralKitToPlan(record);
  if (looksLikeTupperbox(record)) return tupperboxToPlan(record);
  if (looksLikeCard(record)) return cardToPlan(record);
  throw new ImportError(
    'unknown_format',
    `${filename} is JSON but not a character card (chara_card_v2/v3), a PluralKit export or a Tupperbox export.`,
  );
}

/** The plan in a few lines, for the admin before or after creating it. */
export function describePlan(plan: ImportPlan): string {
  const lines = [`${plan.format}: ${plan.personas.length} persona${plan.personas.length === 1 ? '' : 's'} (${plan.personas.map((p) => p.name).join(', ') || 'none'})`];
  if (plan.skipped.length > 0) {
    lines.push(`skipped ${plan.skipped.length}: ${plan.skipped.map((s) => `${s.name} (${s.reason})`).join('; ')}`);
  }
  return lines.join('\n');
}
