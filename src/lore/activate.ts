import type { CharacterBook } from './book.js';
import { entryRules, SelectiveLogic, type EntryRules } from './entryRules.js';
import { keyMatches, scanText, type ScanText } from './keys.js';

/** What a conversation offers the lorebooks to match. */
export interface LoreScan {
  /** Recent messages as `Name: text` (SillyTavern includes names), newest first. */
  messages: string[];
  /** Fills `{{char}}`/`<BOT>`. */
  charName: string;
  /** Fills `{{user}}`/`<USER>`: the person being answered. */
  userName: string;
  /** 0 ≤ x < 1; Math.random by default (probability and group rolls). */
  random?: () => number;
}

/** An entry the conversation called up, ready for the prompt (see lore/fitLore.ts). */
export interface ActivatedLore {
  content: string;
  position: 'before_char' | 'after_char';
  order: number;
  priority: number;
  constant: boolean;
  /** Index of its book among those given: the book's own token budget applies. */
  book: number;
  /** The book's `token_budget`, if any. */
  bookBudget?: number;
}

/** Recursion steps at most (a step scans the text of the entries the previous one called up). */
export const MAX_RECURSION_STEPS = 3;
/** Most characters of recent messages scanned (the newest); with RE2 this bounds every key's time. */
export const MAX_SCAN_CHARS = 20_000;

/**
 * The entries of these books the conversation calls up, following SillyTavern's World Info
 * scan (`checkWorldInfo`) on the card specs' fields:
 * - disabled entries never; `@@activate` always, `@@dont_activate` never; `constant` always;
 * - otherwise one of `keys` must match the last `scan_depth` messages, then with `selective`
 *   and `secondary_keys` the secondary keys must agree by `selectiveLogic` (AND ANY, NOT ALL,
 *   NOT ANY, AND ALL);
 * - of the entries called up together that share an inclusion `group`, one stays: one with
 *   `group_override` (the highest order), else one drawn by `group_weight`; a group that
 *   already has an entry takes no other;
 * - each then passes its `probability` roll;
 * - with the book's `recursive_scanning`, the text of what was called up is scanned again for
 *   other entries (not those with `exclude_recursion`; text of `prevent_recursion` entries
 *   does not count; `delay_until_recursion` entries only then), at most
 *   {@link MAX_RECURSION_STEPS} times.
 * Time, cooldown and sticky effects (SillyTavern's per-chat state) are not kept.
 */
export function activateLore(books: Array<CharacterBook | undefined>, scan: LoreScan): ActivatedLore[] {
  const random = scan.random ?? Math.random;
  const out: ActivatedLore[] = [];
  books.forEach((book, index) => {
    if (!book || !Array.isArray(book.entries) || book.entries.length === 0) return;
    const budget = typeof book.token_budget === 'number' && book.token_budget > 0 ? book.token_budget : undefined;
    for (const rules of activateBook(book, scan, random)) {
      out.push({
        content: substitute(rules.content, scan).trim(),
        position: rules.position,
        order: rules.order,
        priority: rules.priority,
        constant: rules.constant,
        book: index,
        ...(budget !== undefined ? { bookBudget: budget } : {}),
      });
    }
  });
  return out;
}

function activateBook(book: CharacterBook, scan: LoreScan, random: () => number): EntryRules[] {
  // SillyTavern scans the highest order first (its sortFn); ties keep the book's order.
  const entries = book.entries
    .filter((e) => e && typeof e === 'object' && e.enabled !== false)
    .map((e) => entryRules(e, book))
    .filter((r) => r.content.trim() !== '')
    .sort((a, b) => b.order - a.order);
  const buffer = new ScanBuffer(scan.messages);
  const activated: EntryRules[] = [];
  const done = new Set<EntryRules>();
  for (let step = 0; step <= MAX_RECURSION_STEPS; step++) {
    const recursion = step > 0;
    const now = entries.filter((r) => !done.has(r) && calledUp(r, buffer, recursion, scan));
    const kept = winnersOfGroups(now, activated, random);
    for (const r of now) done.add(r);
    const passed = kept.filter((r) => r.probability >= 100 || random() * 100 < r.probability);
    activated.push(...passed);
    if (book.recursive_scanning !== true) break;
    const text = passed.filter((r) => !r.preventRecursion).map((r) => substitute(r.content, scan));
    if (text.length === 0) break;
    buffer.addRecursion(text.join('\n'));
  }
  return activated;
}

function calledUp(r: EntryRules, buffer: ScanBuffer, recursion: boolean, scan: LoreScan): boolean {
  if (r.delayUntilRecursion && !recursion) return false;
  if (r.excludeRecursion && recursion) return false;
  if (r.decorators.activate) return true;
  if (r.decorators.dontActivate) return false;
  if (r.constant) return !recursion;
  if (r.keys.length === 0) return false;
  const text = buffer.text(r.scanDepth, recursion);
  const matches = (key: string) => keyMatches(text, substitute(key, scan), r);
  if (!r.keys.some(matches)) return false;
  if (!r.selective || r.secondaryKeys.length === 0) return true;
  switch (r.logic) {
    case SelectiveLogic.AND_ANY:
      return r.secondaryKeys.some(matches);
    case SelectiveLogic.NOT_ALL:
      return !r.secondaryKeys.every(matches);
    case SelectiveLogic.NOT_ANY:
      return !r.secondaryKeys.some(matches);
    case SelectiveLogic.AND_ALL:
      return r.secondaryKeys.every(matches);
  }
}

/**
 * Inclusion groups (SillyTavern's `filterByInclusionGroups`): of the entries called up now,
 * one per group, unless the group already has one from an earlier step (then none).
 */
function winnersOfGroups(now: EntryRules[], earlier: EntryRules[], random: () => number): EntryRules[] {
  const losers = new Set<EntryRules>();
  const groups = new Map<string, EntryRules[]>();
  for (const r of now) for (const g of r.groups) groups.set(g, [...(groups.get(g) ?? []), r]);
  for (const [group, members] of groups) {
    const live = members.filter((r) => !losers.has(r));
    if (earlier.some((r) => r.groups.includes(group))) {
      live.forEach((r) => losers.add(r));
      continue;
    }
    if (live.length <= 1) continue;
    const winner = live.filter((r) => r.groupOverride).sort((a, b) => b.order - a.order)[0] ?? drawByWeight(live, random);
    live.forEach((r) => r !== winner && losers.add(r));
  }
  return now.filter((r) => !losers.has(r));
}

function drawByWeight(entries: EntryRules[], random: () => number): EntryRules | undefined {
  const total = entries.reduce((n, r) => n + r.groupWeight, 0);
  const roll = random() * total;
  let sum = 0;
  for (const r of entries) {
    sum += r.groupWeight;
    if (roll < sum) return r;
  }
  return entries.at(-1);
}

/** The text each scan depth sees: the newest messages joined, then (when recursing) called-up text. */
class ScanBuffer {
  private readonly byDepth = new Map<string, ScanText>();
  private recursionText = '';

  constructor(private readonly messages: string[]) {}

  text(depth: number, recursion: boolean): ScanText {
    const id = `${depth}|${recursion}`;
    let text = this.byDepth.get(id);
    if (!text) {
      const chat = this.messages.slice(0, depth).join('\n').slice(0, MAX_SCAN_CHARS);
      text = scanText(recursion && this.recursionText ? `${chat}\n${this.recursionText}` : chat);
      this.byDepth.set(id, text);
    }
    return text;
  }

  addRecursion(text: string): void {
    this.recursionText = `${this.recursionText}\n${text}`.slice(-MAX_SCAN_CHARS);
    for (const id of [...this.byDepth.keys()]) if (id.endsWith('|true')) this.byDepth.delete(id);
  }
}

/** `{{char}}`/`<BOT>` and `{{user}}`/`<USER>`, case-insensitively (functions: a `$&` in a name stays literal). */
function substitute(text: string, scan: LoreScan): string {
  return text.replace(/\{\{char\}\}|<BOT>/gi, () => scan.charName).replace(/\{\{user\}\}|<USER>/gi, () => scan.userName);
}
