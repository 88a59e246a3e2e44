import type { CharacterBook, LorebookEntry } from './book.js';
import { parseDecorators, type Decorators } from './decorators.js';

/**
 * One entry's rules as the engine applies them: the card specs' fields, with SillyTavern's own
 * (kept in `extensions` when it writes a card, read back as SillyTavern reads them in
 * `convertCharacterBook`) where the specs have none.
 */
export interface EntryRules {
  keys: string[];
  secondaryKeys: string[];
  /** Secondary keys apply (`selective`); SillyTavern's cards say so per entry. */
  selective: boolean;
  logic: SelectiveLogic;
  caseSensitive: boolean;
  wholeWords: boolean;
  regex: boolean;
  constant: boolean;
  /** Lower comes earlier in the prompt; higher is kept first when the budget is short. */
  order: number;
  priority: number;
  position: 'before_char' | 'after_char';
  /** Last messages the keys are looked for in. */
  scanDepth: number;
  /** 0..100: the chance it is used when called up. */
  probability: number;
  groups: string[];
  groupOverride: boolean;
  groupWeight: number;
  /** Not called up by the text of other entries. */
  excludeRecursion: boolean;
  /** Its text calls up no other entry. */
  preventRecursion: boolean;
  /** Called up only by the text of other entries. */
  delayUntilRecursion: boolean;
  decorators: Decorators;
  /** The content without its decorators. */
  content: string;
}

/**
 * SillyTavern's `selectiveLogic`: how the secondary keys combine with a primary match.
 * 0 AND ANY (one of them too), 1 NOT ALL (not all of them), 2 NOT ANY (none of them),
 * 3 AND ALL (all of them). Its own source defines AND ALL as 3.
 */
export const SelectiveLogic = { AND_ANY: 0, NOT_ALL: 1, NOT_ANY: 2, AND_ALL: 3 } as const;
export type SelectiveLogic = (typeof SelectiveLogic)[keyof typeof SelectiveLogic];

/** SillyTavern's default scan depth (`world_info_depth`). */
export const DEFAULT_SCAN_DEPTH = 2;
/** Deepest scan honoured: the prompt never holds more recent messages than this anyway. */
export const MAX_SCAN_DEPTH = 100;
/** SillyTavern's defaults for an entry's order and group weight. */
const DEFAULT_ORDER = 100;
const DEFAULT_WEIGHT = 100;

export function entryRules(entry: LorebookEntry, book: CharacterBook): EntryRules {
  const ext = entry.extensions ?? {};
  const { decorators, content } = parseDecorators(typeof entry.content === 'string' ? entry.content : '');
  const logic = num(ext.selectiveLogic) ?? SelectiveLogic.AND_ANY;
  return {
    keys: strings(entry.keys),
    secondaryKeys: strings(entry.secondary_keys),
    selective: entry.selective === true,
    logic: (Object.values(SelectiveLogic) as number[]).includes(logic) ? (logic as SelectiveLogic) : SelectiveLogic.AND_ANY,
    caseSensitive: bool(entry.case_sensitive) ?? bool(ext.case_sensitive) ?? false,
    wholeWords: bool(ext.match_whole_words) ?? false,
    regex: entry.use_regex !== false,
    constant: entry.constant === true,
    order: num(entry.insertion_order) ?? DEFAULT_ORDER,
    priority: num(entry.priority) ?? 0,
    position: positionOf(entry, ext),
    scanDepth: clampDepth(decorators.scanDepth ?? num(ext.scan_depth) ?? num(book.scan_depth) ?? DEFAULT_SCAN_DEPTH),
    // SillyTavern writes `probability: null` and `useProbability: false` for "always".
    probability: ext.useProbability === false ? 100 : Math.min(100, Math.max(0, num(ext.probability) ?? 100)),
    groups: typeof ext.group === 'string' ? ext.group.split(/,\s*/).map((g) => g.trim()).filter(Boolean) : [],
    groupOverride: ext.group_override === true,
    groupWeight: Math.max(0, num(ext.group_weight) ?? DEFAULT_WEIGHT),
    excludeRecursion: ext.exclude_recursion === true,
    preventRecursion: ext.prevent_recursion === true,
    delayUntilRecursion: ext.delay_until_recursion === true || (num(ext.delay_until_recursion) ?? 0) > 0,
    decorators,
    content,
  };
}

/**
 * Where the text goes: SillyTavern's numeric `extensions.position` first (0 before the
 * character, 1 after; its other places — author's note, example messages, at a depth in the
 * chat — have no equal in our prompt and go after the character), else the spec's field.
 */
function positionOf(entry: LorebookEntry, ext: Record<string, unknown>): 'before_char' | 'after_char' {
  const stPosition = num(ext.position);
  if (stPosition !== undefined) return stPosition === 0 ? 'before_char' : 'after_char';
  return entry.position === 'before_char' ? 'before_char' : 'after_char';
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((k): k is string => typeof k === 'string' && k.trim() !== '') : []);
const clampDepth = (depth: number): number => Math.min(MAX_SCAN_DEPTH, Math.max(0, Math.floor(depth)));
