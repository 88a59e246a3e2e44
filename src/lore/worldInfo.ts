import type { CharacterBook, LorebookEntry } from './book.js';

/**
 * SillyTavern's World Info file (`{ "entries": { "<uid>": { key, keysecondary, order, ... } } }`)
 * as a character book, field for field as SillyTavern itself writes one into a card
 * (`convertWorldInfoToCharacterBook` in its src/endpoints/characters.js), so a World Info
 * export and a card SillyTavern wrote from it behave the same here.
 */
export function worldInfoToBook(file: WorldInfoFile, name: string): CharacterBook {
  const entries = Object.values(file.entries).filter((e): e is WorldInfoEntry => typeof e === 'object' && e !== null);
  return { name, entries: entries.map(worldInfoEntryToBookEntry) };
}

export interface WorldInfoFile {
  entries: Record<string, WorldInfoEntry>;
  [key: string]: unknown;
}

/** One World Info entry as SillyTavern saves it (its `newWorldInfoEntryDefinition`). */
export interface WorldInfoEntry {
  uid?: number;
  key?: string[];
  keysecondary?: string[];
  comment?: string;
  content?: string;
  constant?: boolean;
  selective?: boolean;
  selectiveLogic?: number;
  order?: number;
  position?: number;
  disable?: boolean;
  [key: string]: unknown;
}

/** True for a World Info file: `entries` is an object keyed by uid (a card's book has an array). */
export function looksLikeWorldInfo(value: Record<string, unknown>): value is WorldInfoFile {
  const entries = value.entries;
  return typeof entries === 'object' && entries !== null && !Array.isArray(entries) && !('spec' in value);
}

function worldInfoEntryToBookEntry(entry: WorldInfoEntry): LorebookEntry {
  return {
    id: entry.uid,
    keys: strings(entry.key),
    secondary_keys: strings(entry.keysecondary),
    comment: entry.comment ?? '',
    content: typeof entry.content === 'string' ? entry.content : '',
    constant: entry.constant === true,
    selective: entry.selective === true,
    insertion_order: typeof entry.order === 'number' ? entry.order : 100,
    enabled: entry.disable !== true,
    position: entry.position === 0 ? 'before_char' : 'after_char',
    // SillyTavern's keys are always regular expressions when written /…/.
    use_regex: true,
    extensions: {
      position: entry.position,
      exclude_recursion: entry.excludeRecursion,
      display_index: entry.displayIndex,
      probability: entry.probability ?? null,
      useProbability: entry.useProbability ?? false,
      depth: entry.depth ?? 4,
      selectiveLogic: entry.selectiveLogic ?? 0,
      group: entry.group ?? '',
      group_override: entry.groupOverride ?? false,
      group_weight: entry.groupWeight ?? null,
      prevent_recursion: entry.preventRecursion ?? false,
      delay_until_recursion: entry.delayUntilRecursion ?? false,
      scan_depth: entry.scanDepth ?? null,
      match_whole_words: entry.matchWholeWords ?? null,
      use_group_scoring: entry.useGroupScoring ?? false,
      case_sensitive: entry.caseSensitive ?? null,
      automation_id: entry.automationId ?? '',
      role: entry.role ?? 0,
      vectorized: entry.vectorized ?? false,
      sticky: entry.sticky ?? null,
      cooldown: entry.cooldown ?? null,
      delay: entry.delay ?? null,
    },
  };
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((k): k is string => typeof k === 'string') : []);
