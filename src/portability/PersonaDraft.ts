import type { CharacterBook } from '../lore/book.js';

/**
 * A persona read from a card or an export, not created yet. Everything here is validated:
 * the importer only has to pick IDs and create them.
 */
export interface PersonaDraft {
  /** Display name (any Unicode). */
  name: string;
  /** The persona prompt, mapped from the card's fields. */
  prompt: string;
  /** Sent when someone opens a DM with the persona; `{{user}}` is filled in then. */
  firstMessage: string | null;
  avatar: DraftAvatar | null;
  /** Free-form traits (pronouns, for PluralKit members). */
  traits: Record<string, unknown>;
  /** Only from a card this bridge exported (its own extension). */
  model?: string;
  temperature?: number;
  /** The card's other fields, kept so that an export gives them back (see CardExtras). */
  card: CardExtras;
  /** Where it came from, e.g. `chara_card_v2`, `pluralkit`, for the summary and the log. */
  source: string;
}

/** The image itself (a PNG card is its own avatar), or a URL to fetch. */
export type DraftAvatar = { kind: 'image'; data: Buffer; contentType: string; filename: string } | { kind: 'url'; url: string };

/**
 * What a card has beyond the prompt: never put into the prompt (creator notes, tags, creator
 * are for humans), but persisted so `!persona export` round-trips them.
 */
export interface CardExtras {
  creator_notes?: string;
  creator?: string;
  character_version?: string;
  tags?: string[];
  alternate_greetings?: string[];
  character_book?: CharacterBook;
  /** Unknown extension keys are kept, as the spec asks. */
  extensions?: Record<string, unknown>;
}

export interface SkippedEntry {
  name: string;
  reason: string;
}

/** What an import file would create and what it skips (with why). */
export interface ImportPlan {
  /** e.g. `character card (chara_card_v2)`, `PluralKit export (version 2)`. */
  format: string;
  personas: PersonaDraft[];
  skipped: SkippedEntry[];
}
