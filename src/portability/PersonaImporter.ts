import { describeError } from '../util/describeError.js';
import type { ImportPlan, PersonaDraft, SkippedEntry } from './PersonaDraft.js';

/** Where drafts become personas (the lifecycle, behind this narrow interface). */
export interface ImportTarget {
  /** The user ID of a live or unfinished persona with this name (case-insensitive), if any. */
  existingByName(name: string): string | undefined;
  /** Spawns one persona from a draft; throws with a message for the admin. */
  /** `note`: something that did not work out but did not stop it (an avatar that could not be fetched). */
  create(draft: PersonaDraft, options: { id?: string; creator: string }): Promise<{ userId: string; note?: string }>;
}

export interface ImportOutcome {
  format: string;
  /** In a dry run: what would be created, without user IDs. */
  created: Array<{ name: string; userId: string; note?: string }>;
  skipped: SkippedEntry[];
  failed: SkippedEntry[];
}

/**
 * Creates the personas of an import plan. The plan is complete and validated before this
 * runs, so a bad file creates nothing; here each persona is created on its own, so one that
 * fails (a taken name, a homeserver error) is reported and the others go ahead.
 * `--id` applies to a single card only (an export has many members).
 */
export async function applyImport(plan: ImportPlan, target: ImportTarget, options: { id?: string; creator: string; dryRun?: boolean }): Promise<ImportOutcome> {
  if (options.id !== undefined && plan.personas.length !== 1) {
    throw new Error(`--id names one persona, but this ${plan.format} has ${plan.personas.length}.`);
  }
  const outcome: ImportOutcome = { format: plan.format, created: [], skipped: [...plan.skipped], failed: [] };
  for (const draft of plan.personas) {
    const existing = target.existingByName(draft.name);
    if (existing) {
      outcome.skipped.push({ name: draft.name, reason: `a persona with this name exists (${existing})` });
      continue;
    }
    if (options.dryRun) {
      outcome.created.push({ name: draft.name, userId: '' });
      continue;
    }
    try {
      const { userId, note } = await target.create(draft, { creator: options.creator, ...(options.id !== undefined ? { id: options.id } : {}) });
      outcome.created.push({ name: draft.name, userId, ...(note ? { note } : {}) });
    } catch (err) {
      outcome.failed.push({ name: draft.name, reason: describeError(err) });
    }
  }
  return outcome;
}

/** The outcome for the admin: what was created, skipped (why) and failed (why). */
export function describeOutcome(outcome: ImportOutcome, dryRun = false): string {
  const n = outcome.created.length;
  const lines = [
    `${outcome.format}: ${dryRun ? 'would create' : 'created'} ${n} persona${n === 1 ? '' : 's'}` +
      (n ? `: ${outcome.created.map((c) => (c.userId ? `${c.name} (${c.userId}${c.note ? `, ${c.note}` : ''})` : c.name)).join(', ')}` : ''),
  ];
  if (outcome.skipped.length) {
    lines.push(`${dryRun ? 'would skip' : 'skipped'} ${outcome.skipped.length}: ${outcome.skipped.map((s) => `${s.name} (${s.reason})`).join('; ')}`);
  }
  if (outcome.failed.length) lines.push(`failed ${outcome.failed.length}: ${outcome.failed.map((s) => `${s.name} (${s.reason})`).join('; ')}`);
  return lines.join('\n');
}
