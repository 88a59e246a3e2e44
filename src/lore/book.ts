/**
 * A lorebook (Character Card V2/V3 `character_book`, or a standalone `lorebook_v3`), as the
 * specs define it. Every field a card may carry is kept, unknown ones too, so an export gives
 * the book back as it came; what the engine reads is listed here.
 */
export interface LorebookEntry {
  keys: string[];
  content: string;
  enabled: boolean;
  insertion_order: number;
  /** True: keys match only in the case written (V2/V3); SillyTavern keeps it in `extensions.case_sensitive`. */
  case_sensitive?: boolean;
  /** V3: keys written `/pattern/flags` are regular expressions (SillyTavern exports it true on every entry). */
  use_regex?: boolean;
  constant?: boolean;
  name?: string;
  /** V3 (from AgnAI): the lowest is dropped first when the budget is reached. */
  priority?: number;
  id?: number | string;
  comment?: string;
  selective?: boolean;
  secondary_keys?: string[];
  position?: string;
  /** SillyTavern's own fields (selectiveLogic, probability, group, ...); see lore/entryRules.ts. */
  extensions?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface CharacterBook {
  name?: string;
  description?: string;
  /** How many recent messages keys are looked for in (SillyTavern's default: 2). */
  scan_depth?: number;
  /** Most (estimated) tokens the book's entries take in one prompt. */
  token_budget?: number;
  /** Entries may be called up by the text of other entries called up. */
  recursive_scanning?: boolean;
  extensions?: Record<string, unknown>;
  entries: LorebookEntry[];
  [key: string]: unknown;
}
