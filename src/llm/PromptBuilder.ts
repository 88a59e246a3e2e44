import type { ChatTurn } from './LlmClient.js';
import { estimateMessageTokens, estimateTokens, REPLY_PRIMING_TOKENS, truncateToTokens } from './tokens.js';

export interface PromptPersona {
  name: string;
  userId: string;
  prompt: string;
  traits: Record<string, unknown>;
}

export interface PromptMessage {
  sender: string;
  /** The sender's display name (or a readable fallback). */
  name: string;
  msgtype: string;
  body: string;
}

export interface PromptInput {
  persona: PromptPersona;
  isDirect: boolean;
  roomName?: string | null;
  /** Display names of the room's other members (the persona and the bridge bot excluded). */
  participants: string[];
  /** The message being answered is in a thread; the history is that thread. */
  inThread: boolean;
  /** Chapter summaries of older history, oldest first. */
  chapters: string[];
  /** Recent messages, oldest first; the last one is the message being answered. */
  history: PromptMessage[];
  /** The whole prompt must fit in this many (estimated) tokens. */
  budgetTokens: number;
}

export interface BuiltPrompt {
  messages: ChatTurn[];
  /** Estimated size of `messages`, never more than the budget. */
  estimatedTokens: number;
  historyIncluded: number;
  historyOmitted: number;
  chaptersIncluded: number;
}

/** Participants named in the system prompt; a big room's full list would eat the budget. */
const MAX_NAMED_PARTICIPANTS = 20;
/** The persona's own prompt may take at most this share of the budget. */
const PERSONA_PROMPT_SHARE = 0.5;
/** Summaries may take at most this share of the budget: recent messages matter more. */
const SUMMARY_SHARE = 1 / 3;
/** Per line: the newline joining it to a neighbour in a merged turn. */
const LINE_JOIN_TOKENS = 1;

/**
 * Assembles the chat prompt for one reply: the system message (persona prompt, traits, who
 * is in the room, how to answer, summaries of older history), then the most recent messages
 * as turns. Fitted to the token budget by estimate, in this order of priority: the system
 * message, the message being answered (cut if it alone is too long), the newest summaries,
 * then older messages newest first.
 *
 * The persona's own messages are assistant turns; everyone else's are user turns starting
 * with the speaker's name. Consecutive messages of the same role are merged into one turn,
 * because some chat templates (Mistral's, for one) reject two user turns in a row.
 */
export function buildPrompt(input: PromptInput): BuiltPrompt {
  const budget = input.budgetTokens - REPLY_PRIMING_TOKENS;
  const core = systemCore(input, Math.floor(input.budgetTokens * PERSONA_PROMPT_SHARE));
  let remaining = budget - estimateMessageTokens(core);

  const names = disambiguatedNames(input.history);
  const lines = input.history.map((m) => toLine(m, input.persona.userId, names));
  const lineCost = (content: string) => estimateTokens(content) + LINE_JOIN_TOKENS + estimateMessageTokens('');

  // The message being answered always goes in, cut to what is left if need be.
  const chosen: Array<{ role: ChatTurn['role']; content: string }> = [];
  const last = lines.at(-1);
  if (last) {
    if (lineCost(last.content) > remaining) {
      last.content = truncateToTokens(last.content, Math.max(0, remaining - LINE_JOIN_TOKENS - estimateMessageTokens('')));
    }
    remaining -= lineCost(last.content);
    chosen.push(last);
  }

  const summary = summarySection(input.chapters, Math.min(remaining, Math.floor(input.budgetTokens * SUMMARY_SHARE)));
  remaining -= summary.tokens;

  let omitted = 0;
  for (let i = lines.length - 2; i >= 0; i--) {
    const cost = lineCost(lines[i]!.content);
    if (cost > remaining) {
      omitted = i + 1;
      break;
    }
    remaining -= cost;
    chosen.unshift(lines[i]!);
  }

  const messages: ChatTurn[] = [{ role: 'system', content: core + summary.text }];
  for (const line of chosen) {
    const previous = messages.at(-1)!;
    if (previous.role === line.role) previous.content += `\n${line.content}`;
    else messages.push({ role: line.role, content: line.content });
  }
  const estimatedTokens = messages.reduce((n, m) => n + estimateMessageTokens(m.content), REPLY_PRIMING_TOKENS);
  return { messages, estimatedTokens, historyIncluded: chosen.length, historyOmitted: omitted, chaptersIncluded: summary.count };
}

function systemCore(input: PromptInput, maxPersonaPromptTokens: number): string {
  const { persona } = input;
  const parts = [truncateToTokens(persona.prompt.trim(), maxPersonaPromptTokens)];
  const traits = Object.entries(persona.traits)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('; ');
  if (traits) parts.push(`Your traits: ${traits}.`);
  parts.push(`You are ${persona.name}, taking part in a Matrix chat. ${whereText(input)}`);
  parts.push(
    `Messages from others begin with the sender's name and a colon. Answer as ${persona.name} only: ` +
      `do not begin your reply with your name, and do not write lines for anyone else. You may use Markdown.`,
  );
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
  return `You are in ${room} with ${list}.${thread}`;
}

function joinNames(names: string[]): string {
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0]!;
}

/** The newest chapters that fit in `maxTokens`, oldest first; the newest is cut if even it alone does not fit. */
function summarySection(chapters: string[], maxTokens: number): { text: string; tokens: number; count: number } {
  const header = '\n\nSummary of the earlier conversation, oldest first:';
  const headerTokens = estimateTokens(header);
  const chosen: string[] = [];
  let used = headerTokens;
  for (let i = chapters.length - 1; i >= 0; i--) {
    const part = `\n${chapters[i]!.trim()}`;
    const cost = estimateTokens(part);
    if (used + cost <= maxTokens) {
      chosen.unshift(part);
      used += cost;
      continue;
    }
    if (chosen.length === 0 && maxTokens - used > 20) {
      const cut = truncateToTokens(part, maxTokens - used);
      chosen.unshift(cut);
      used += estimateTokens(cut);
    }
    break;
  }
  if (chosen.length === 0) return { text: '', tokens: 0, count: 0 };
  return { text: header + chosen.join(''), tokens: used, count: chosen.length };
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
