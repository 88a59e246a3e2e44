import { turnTokens, type ChatImage, type ChatTurn } from './LlmClient.js';
import type { ActivatedLore } from '../lore/activate.js';
import { fitLore } from '../lore/fitLore.js';
import { estimateMessageTokens, estimateTokens, REPLY_PRIMING_TOKENS, truncateToTokens } from './tokens.js';

export interface PromptPersona {
  name: string;
  userId: string;
  prompt: string;
  traits: Record<string, unknown>;
}

export interface PromptMessage {
  /** The stored message's id (arrival order), when it has one: keeps recalled messages out of the recent turns. */
  id?: number;
  sender: string;
  /** The sender's display name (or a readable fallback). */
  name: string;
  msgtype: string;
  body: string;
  /** Images the model is shown with this message (src/media); only for models that can see. */
  images?: PromptImage[];
}

/** An image for the model: a `data:` URL and its estimated tokens (media/imagePrep.ts imageTokens). */
export interface PromptImage {
  url: string;
  tokens: number;
}

export interface PromptInput {
  persona: PromptPersona;
  isDirect: boolean;
  roomName?: string | null;
  /** Display names of the room's other members (the persona and the bridge bot excluded). */
  participants: string[];
  /**
   * Which of `participants` are personas (AI characters hosted by the bridge, like this one);
   * the rest are people. When given, a group room's prompt says who is which.
   */
  personaParticipants?: string[];
  /** The message being answered is in a thread; the history is that thread. */
  inThread: boolean;
  /** Chapter summaries of older history, oldest first. */
  chapters: string[];
  /** Notes (`!remember`) the persona keeps for this room, oldest first. */
  notes?: string[];
  /** Lorebook entries the conversation calls up (lore/activate.ts); fitted to their share by importance. */
  lore?: ActivatedLore[];
  /** How people who speak here describe themselves (`!me`): "About bob: …"; in the notes' share, first. */
  people?: PersonDescription[];
  /** Answers of this persona people starred, most recent first: style examples. */
  examples?: string[];
  /**
   * Older messages of the room relevant to the message being answered (retrieval), best
   * first. Those that are among the recent turns in the prompt are left out.
   */
  recalled?: RecalledMessage[];
  /** Most recalled messages to put in (of those not among the recent turns); default all that fit. */
  maxRecalled?: number;
  /** Recent messages, oldest first; the last one is the message being answered. */
  history: PromptMessage[];
  /** The whole prompt must fit in this many (estimated) tokens. */
  budgetTokens: number;
  /** A scene's direction for this turn (`!converse`), last in the system message. */
  sceneDirection?: string;
  /** What the persona cannot perceive (images, voice), told in the system message. */
  senseNotes?: string[];
}

/** What one person told the personas about themselves (`!me`). */
export interface PersonDescription {
  name: string;
  text: string;
}

/** A message retrieved from the room's older history. */
export interface RecalledMessage extends PromptMessage {
  id: number;
  /** When it was sent (ms since epoch). */
  ts: number;
}

export interface BuiltPrompt {
  messages: ChatTurn[];
  /** Estimated size of `messages`, never more than the budget. */
  estimatedTokens: number;
  historyIncluded: number;
  historyOmitted: number;
  chaptersIncluded: number;
  notesIncluded: number;
  loreIncluded: number;
  examplesIncluded: number;
  /** Ids of the recalled messages put in, best first. */
  recalledIncluded: number[];
}

/** Participants named in the system prompt; a big room's full list would eat the budget. */
const MAX_NAMED_PARTICIPANTS = 20;
/** The persona's own prompt may take at most this share of the budget. */
const PERSONA_PROMPT_SHARE = 0.5;

/** Estimated tokens of the persona's prompt that reach the model; the rest is cut ({@link buildPrompt}). */
export function personaPromptLimit(budgetTokens: number): number {
  return Math.floor(budgetTokens * PERSONA_PROMPT_SHARE);
}
/**
 * The split of what is left after the system message and the message being answered: each
 * kind of memory may take at most its share; recent messages get the rest, at least 40%,
 * plus whatever the others leave unused. Notes (with how people describe themselves) are few
 * and were asked for; lorebook entries and starred answers (style examples) shape the
 * character; summaries and recalled messages cover what is older; the recent turns matter most.
 */
export const BUDGET_SHARES = { notes: 0.1, lore: 0.1, examples: 0.05, summaries: 0.2, recalled: 0.15 } as const;
/** Tokens the system message takes besides the persona prompt (instructions, traits, who is here), about. */
const SYSTEM_ALLOWANCE_TOKENS = 300;
/** Per line: the newline joining it to a neighbour in a merged turn. */
const LINE_JOIN_TOKENS = 1;

/**
 * Assembles the chat prompt for one reply: the system message (persona prompt, traits, who
 * is in the room, how to answer; then the notes, summaries of older history, and older
 * messages recalled as relevant), then the most recent messages as turns. Fitted to the
 * token budget by estimate, in this order of priority: the system message, the message being
 * answered (cut if it alone is too long); then, of what is left, notes, the newest summaries
 * and the best recalled messages each within its share ({@link BUDGET_SHARES}), and the
 * recent messages newest first in all the rest. A recalled message is never one of the
 * recent turns in the prompt, and all recalled messages are older than those.
 *
 * The persona's own messages are assistant turns; everyone else's are user turns starting
 * with the speaker's name. Consecutive messages of the same role are merged into one turn,
 * because some chat templates (Mistral's, for one) reject two user turns in a row.
 */
export function buildPrompt(input: PromptInput): BuiltPrompt {
  const budget = input.budgetTokens - REPLY_PRIMING_TOKENS;
  const core = systemCore(input, personaPromptLimit(input.budgetTokens));
  let remaining = budget - estimateMessageTokens(core);

  const names = disambiguatedNames([...input.history, ...(input.recalled ?? [])]);
  const lines = input.history.map((m) => ({ id: m.id, images: m.images ?? [], ...toLine(m, input.persona.userId, names) }));
  const imageCost = (images: PromptImage[] = []) => images.reduce((n, i) => n + i.tokens, 0);
  const lineCost = (content: string, images?: PromptImage[]) => estimateTokens(content) + imageCost(images) + LINE_JOIN_TOKENS + estimateMessageTokens('');

  // The message being answered always goes in, cut to what is left if need be.
  const chosen: Array<{ id?: number; role: ChatTurn['role']; content: string; images: PromptImage[] }> = [];
  const last = lines.at(-1);
  if (last) {
    // Its images too, when they fit; the text goes in whatever happens.
    if (lineCost(last.content, last.images) > remaining) last.images = [];
    if (lineCost(last.content) > remaining) {
      last.content = truncateToTokens(last.content, Math.max(0, remaining - LINE_JOIN_TOKENS - estimateMessageTokens('')));
    }
    remaining -= lineCost(last.content, last.images);
    chosen.push(last);
  }

  // The split (BUDGET_SHARES) is of what is left now.
  const shareOf = (share: number) => Math.max(0, Math.floor(remaining * share));
  const lore = fitLore(input.lore ?? [], shareOf(BUDGET_SHARES.lore));
  const people = listSection(PEOPLE_HEADER, (input.people ?? []).map((p) => `About ${p.name}: ${p.text.trim()}`), shareOf(BUDGET_SHARES.notes), 'first');
  const notes = listSection(NOTES_HEADER, (input.notes ?? []).map((n) => `- ${n.trim()}`), shareOf(BUDGET_SHARES.notes) - people.tokens, 'newest');
  const examples = listSection(EXAMPLES_HEADER, (input.examples ?? []).map((e) => `- ${e.trim()}`), shareOf(BUDGET_SHARES.examples), 'first');
  const summary = listSection(SUMMARY_HEADER, input.chapters.map((c) => c.trim()), shareOf(BUDGET_SHARES.summaries), 'newest');
  const recallCap = shareOf(BUDGET_SHARES.recalled);
  remaining -= lore.tokens + people.tokens + notes.tokens + examples.tokens + summary.tokens;
  const recalledLines = (input.recalled ?? []).map((m) => ({ id: m.id, ts: m.ts, text: recalledLine(m, names) }));
  const recallWanted = Math.min(recallCap, listSection(RECALL_HEADER, recalledLines.map((r) => r.text), recallCap, 'first').tokens);

  // Recent messages, newest first, leaving room for the recalled ones...
  let next = lines.length - 2;
  const fill = (limit: number, olderThan = -Infinity) => {
    for (; next >= 0; next--) {
      const line = lines[next]!;
      const cost = lineCost(line.content, line.images);
      if (cost > limit || (line.id !== undefined && line.id <= olderThan)) return;
      limit -= cost;
      remaining -= cost;
      chosen.unshift(line);
    }
  };
  fill(remaining - recallWanted);

  // ...then the recalled ones not already among them, best first, oldest first in the text...
  const oldestChosen = Math.min(...chosen.map((l) => l.id ?? Infinity));
  const chosenIds = new Set(chosen.map((l) => l.id));
  const candidates = recalledLines.filter((r) => r.id < oldestChosen && !chosenIds.has(r.id)).slice(0, input.maxRecalled);
  const recall = listSection(RECALL_HEADER, candidates.map((r) => r.text), Math.min(recallCap, remaining), 'first');
  const recalledIncluded = candidates.slice(0, recall.count);
  remaining -= recall.tokens;
  const recallParts = recalledIncluded.map((r, i) => ({ id: r.id, part: recall.parts[i]! }));
  const recallText = recall.count ? RECALL_HEADER + byAge(recallParts).map((r) => r.part).join('') : '';

  // ...and older recent messages in what is still free, never reaching back to a recalled one.
  fill(remaining, Math.max(-Infinity, ...recalledIncluded.map((r) => r.id)));
  const omitted = next + 1;

  // The lorebook's text sits around the character's own prompt, as card readers put it.
  const character = [lore.before.join('\n'), systemCore(input, personaPromptLimit(input.budgetTokens), lore.after.join('\n'))].filter(Boolean).join('\n\n');
  const sections = people.text + notes.text + examples.text + summary.text + recallText;
  const messages: ChatTurn[] = [{ role: 'system', content: character + sections }];
  for (const line of chosen) {
    const previous = messages.at(-1)!;
    if (previous.role === line.role) previous.content += `\n${line.content}`;
    else messages.push({ role: line.role, content: line.content });
    if (line.images.length) {
      const turn = messages.at(-1)!;
      const at = turn.content.length;
      turn.images = [...(turn.images ?? []), ...line.images.map((i): ChatImage => ({ url: i.url, tokens: i.tokens, at }))];
    }
  }
  const estimatedTokens = messages.reduce((n, m) => n + turnTokens(m), REPLY_PRIMING_TOKENS);
  return {
    messages,
    estimatedTokens,
    historyIncluded: chosen.length,
    historyOmitted: omitted,
    chaptersIncluded: summary.count,
    notesIncluded: notes.count,
    loreIncluded: lore.count,
    examplesIncluded: examples.count,
    recalledIncluded: recalledIncluded.map((r) => r.id),
  };
}

/**
 * The least number of tokens the recent messages get (half of what is left after the
 * system message), estimated from the budget and the persona prompt: the Summarizer writes
 * a chapter before the unsummarised messages outgrow it, so nothing falls out of the prompt
 * unsummarised.
 */
export function guaranteedRecentTokens(budgetTokens: number, personaPromptTokens: number): number {
  const system = Math.min(personaPromptTokens, personaPromptLimit(budgetTokens)) + SYSTEM_ALLOWANCE_TOKENS;
  const rest = budgetTokens - REPLY_PRIMING_TOKENS - system;
  const shares = Object.values(BUDGET_SHARES).reduce((sum, share) => sum + share, 0);
  return Math.max(0, Math.floor(rest * (1 - shares)));
}

/** The system message's own part; `afterPersona` (lorebook text) follows the persona's prompt. */
function systemCore(input: PromptInput, maxPersonaPromptTokens: number, afterPersona = ''): string {
  const { persona } = input;
  const parts = [truncateToTokens(persona.prompt.trim(), maxPersonaPromptTokens), afterPersona];
  const traits = Object.entries(persona.traits)
    // How often it speaks up in a group is the bridge's business (the natural order), not the character's.
    .filter(([key]) => key !== 'talkativeness')
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('; ');
  if (traits) parts.push(`Your traits: ${traits}.`);
  parts.push(`You are ${persona.name}, taking part in a Matrix chat. ${whereText(input)}`);
  parts.push(
    `Messages from others begin with the sender's name and a colon. Answer as ${persona.name} only: ` +
      `do not begin your reply with your name, and do not write lines for anyone else. You may use Markdown.`,
  );
  parts.push(...(input.senseNotes ?? []));
  if (input.sceneDirection) parts.push(input.sceneDirection.trim());
  return parts.filter(Boolean).join('\n\n');
}

function whereText(input: PromptInput): string {
  const others = input.participants;
  const thread = input.inThread ? ' The messages below are a thread in that room.' : '';
  if (input.isDirect) return `This is a private conversation with ${others[0] ?? 'one other person'}.${thread}`;
  const named = others.slice(0, MAX_NAMED_PARTICIPANTS);
  const rest = others.length - named.length;
  const list = named.length === 0 ? 'nobody else yet' : rest > 0 ? `${named.join(', ')} and ${rest} others` : joinNames(named);
  const room = input.roomName ? `the room "${input.roomName}"` : 'a group room';
  return `You are in ${room} with ${list}.${kindsText(named, input.personaParticipants)}${thread}`;
}

/** ` Ada and Cy are personas (AI characters like you); Alice is a person.` for the names listed. */
function kindsText(named: string[], personaNames: string[] | undefined): string {
  if (!personaNames || named.length === 0) return '';
  const isPersona = new Set(personaNames);
  const personas = named.filter((n) => isPersona.has(n));
  const people = named.filter((n) => !isPersona.has(n));
  const parts: string[] = [];
  if (personas.length > 0) {
    parts.push(`${joinNames(personas)} ${personas.length === 1 ? 'is a persona (an AI character' : 'are personas (AI characters'} like you)`);
  }
  if (people.length > 0) parts.push(`${joinNames(people)} ${people.length === 1 ? 'is a person' : 'are people'}`);
  return ` ${upperFirst(parts.join('; '))}.`;
}

function upperFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function joinNames(names: string[]): string {
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0]!;
}

const PEOPLE_HEADER = '\n\nWhat people here told you about themselves:';
const EXAMPLES_HEADER = '\n\nAnswers of yours that people liked (examples of your style only, not part of this conversation):';
const NOTES_HEADER = '\n\nNotes you were asked to keep about this conversation:';
const SUMMARY_HEADER = '\n\nSummary of the earlier conversation, oldest first:';
const RECALL_HEADER = '\n\nEarlier in this room (older messages that may be relevant, oldest first):';

/**
 * A header and as many items as fit in `maxTokens`: the newest (last) items, or the first
 * (best) ones; kept in their order. When not even one fits whole, it is cut.
 */
function listSection(
  header: string,
  items: string[],
  maxTokens: number,
  keep: 'newest' | 'first',
): { text: string; parts: string[]; tokens: number; count: number } {
  const headerTokens = estimateTokens(header);
  const chosen: string[] = [];
  let used = headerTokens;
  const order = keep === 'newest' ? [...items].reverse() : items;
  for (const item of order) {
    const part = `\n${item}`;
    const cost = estimateTokens(part);
    if (used + cost <= maxTokens) {
      chosen.push(part);
      used += cost;
      continue;
    }
    if (chosen.length === 0 && maxTokens - used > 20) {
      const cut = truncateToTokens(part, maxTokens - used);
      chosen.push(cut);
      used += estimateTokens(cut);
    }
    break;
  }
  if (chosen.length === 0) return { text: '', parts: [], tokens: 0, count: 0 };
  if (keep === 'newest') chosen.reverse();
  return { text: header + chosen.join(''), parts: chosen, tokens: used, count: chosen.length };
}

function byAge<T extends { id: number }>(items: T[]): T[] {
  return [...items].sort((a, b) => a.id - b.id);
}

/** `[2026-11-29 14:05 UTC] Alice: text`: who said it and when, for the model to place it. */
function recalledLine(m: RecalledMessage, names: Map<string, string>): string {
  const when = new Date(m.ts).toISOString().slice(0, 16).replace('T', ' ');
  const body = m.msgtype === 'm.emote' ? `*${m.body}*` : m.body;
  return `[${when} UTC] ${names.get(m.sender) ?? m.name}: ${body}`;
}

/** Display names, with the user id added where two different senders share one. */
function disambiguatedNames(history: PromptMessage[]): Map<string, string> {
  const senders = new Map<string, string>();
  for (const m of history) senders.set(m.sender, m.name);
  const count = new Map<string, number>();
  for (const name of senders.values()) count.set(name.toLowerCase(), (count.get(name.toLowerCase()) ?? 0) + 1);
  const out = new Map<string, string>();
  for (const [sender, name] of senders) out.set(sender, (count.get(name.toLowerCase()) ?? 0) > 1 ? `${name} (${sender})` : name);
  return out;
}

function toLine(message: PromptMessage, personaId: string, names: Map<string, string>): { role: ChatTurn['role']; content: string } {
  const body = message.msgtype === 'm.emote' ? `*${message.body}*` : message.body;
  if (message.sender === personaId) return { role: 'assistant', content: body };
  return { role: 'user', content: `${names.get(message.sender) ?? message.name}: ${body}` };
}
