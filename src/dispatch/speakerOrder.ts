/**
 * Who speaks next in a group room, by the room's order mode (SillyTavern's group chat orders).
 * Pure: the caller gives the personas present in roster order (already without muted ones),
 * the last message, who spoke since a person last wrote, each persona's talkativeness and a
 * random source; the answer is the personas that speak, in order. The turn budget is applied
 * by the caller on top (it may cut the list short).
 *
 * Two triggers:
 * - `message`: a message arrived; who answers it (possibly nobody).
 * - `next`: someone wants the next speaker now (`!next` without a name, a scene's next turn):
 *   always exactly one persona when any is present.
 */
import type { OrderMode } from '../rooms/roomSettings.js';
import { intentionalMentions, isAddressed, textMentionIndex, type MentionTarget } from './mentions.js';

export type { OrderMode } from '../rooms/roomSettings.js';

/** How likely a persona speaks unprompted in `natural` order when nothing says otherwise (SillyTavern's 50 %). */
export const DEFAULT_TALKATIVENESS = 0.5;

/** What the order needs of a persona. */
export interface Speaker {
  userId: string;
  name: string;
}

/** The message that is being answered (the room's last message). */
export interface LastMessage {
  sender: string;
  /** True when a person sent it, false when one of our personas did. */
  fromPerson: boolean;
  content: Record<string, unknown>;
  /** Who sent the message it replies to, when known: a person replying to a persona addresses it. */
  repliedToSender?: string | null;
}

export interface SpeakerOrderInput<P extends Speaker> {
  mode: OrderMode;
  trigger: 'message' | 'next';
  /**
   * The personas in the room that may speak, in roster order (the order they joined the room),
   * without muted ones. The sender of the last message may be among them: it is never chosen
   * to answer itself, except by `next` when it is the only one present.
   */
  present: readonly P[];
  /** The last message, or null when there is none yet (then `next` follows the roster). */
  message: LastMessage | null;
  /**
   * Personas (user ids) that spoke since a person last wrote. For a person's message
   * (`message` trigger): those that spoke between that person's previous message and this one
   * — `pooled` picks among the others.
   */
  spokeSincePerson: ReadonlySet<string>;
  /** 0..1: the room's override, else the persona's default, else {@link DEFAULT_TALKATIVENESS}. */
  talkativeness(persona: P): number;
  /** Uniform in [0, 1) (Math.random in production, a seeded sequence in tests). */
  random(): number;
  /** The names the persona goes by in this room (its name, its room displayname); default its name. */
  namesOf?(persona: P): readonly string[];
}

/** The personas that speak, in order. */
export function chooseSpeakers<P extends Speaker>(input: SpeakerOrderInput<P>): P[] {
  return input.trigger === 'next' ? pickNext(input) : answerMessage(input);
}

function answerMessage<P extends Speaker>(input: SpeakerOrderInput<P>): P[] {
  const { mode, message } = input;
  if (!message || mode === 'manual') return [];
  const others = input.present.filter((p) => p.userId !== message.sender);
  if (others.length === 0) return [];
  // A persona's message makes only the personas it addresses answer, whatever the mode:
  // otherwise every persona answer would start the round again until the turn budget stops it.
  // `natural` is about who is named, so there a name in the text counts too.
  if (message.fromPerson) {
    switch (mode) {
      case 'list':
        return others;
      case 'pooled': {
        const pool = others.filter((p) => !input.spokeSincePerson.has(p.userId));
        return [pickRandom(pool.length > 0 ? pool : others, input.random)];
      }
      case 'natural': {
        const named = namedInOrder(others, message, input);
        if (named.length > 0) return named;
        const chosen = byTalkativeness(others, input);
        return chosen ? [chosen] : [];
      }
      case 'mention':
        return addressedInOrder(others, message, input);
    }
  }
  return mode === 'natural' ? namedInOrder(others, message, input) : addressedInOrder(others, message, input);
}

function pickNext<P extends Speaker>(input: SpeakerOrderInput<P>): P[] {
  const { present, message } = input;
  if (present.length === 0) return [];
  const others = message ? present.filter((p) => p.userId !== message.sender) : [...present];
  // Alone in the room, the persona may go on from its own message: it was asked to.
  if (others.length === 0) return [present[0] as P];
  if (input.mode === 'pooled') {
    const pool = others.filter((p) => !input.spokeSincePerson.has(p.userId));
    return [pickRandom(pool.length > 0 ? pool : others, input.random)];
  }
  if (input.mode === 'natural' && message) {
    const named = namedInOrder(others, message, input)[0];
    return [named ?? byTalkativeness(others, input) ?? pickRandom(others, input.random)];
  }
  if (input.mode === 'mention' && message) {
    const addressed = addressedInOrder(others, message, input)[0];
    if (addressed) return [addressed];
  }
  return [nextInRoster(present, message?.sender, input.spokeSincePerson)];
}

/**
 * Roster order: the first who has not spoken since a person wrote; when all have, the one
 * after the last speaker (round after round, as a scene goes).
 */
function nextInRoster<P extends Speaker>(present: readonly P[], lastSender: string | undefined, spoke: ReadonlySet<string>): P {
  const fresh = present.find((p) => !spoke.has(p.userId) && p.userId !== lastSender);
  if (fresh) return fresh;
  const last = present.findIndex((p) => p.userId === lastSender);
  return present[(last + 1) % present.length] as P;
}

/**
 * Each persona, in random order, speaks with the probability of its talkativeness; the first
 * that does is the one (at most one speaks). Null when none does.
 */
function byTalkativeness<P extends Speaker>(candidates: readonly P[], input: SpeakerOrderInput<P>): P | null {
  for (const p of shuffled(candidates, input.random)) {
    const t = clamp01(input.talkativeness(p));
    if (input.random() < t) return p;
  }
  return null;
}

function targetOf<P extends Speaker>(p: P, input: SpeakerOrderInput<P>): MentionTarget {
  return { userId: p.userId, names: input.namesOf?.(p) ?? [p.name] };
}

/**
 * The `mention` rule: personas mentioned (m.mentions when the message has them, else pill,
 * MXID or name in the text) or replied to by a person, in the order they are named in the
 * text; those only in m.mentions or only replied to come after, the replied-to one first,
 * then in m.mentions order. A persona's reply relation is no summons (it is how every answer
 * is sent), so from personas only their mentions count.
 */
export function addressedInOrder<P extends Speaker>(candidates: readonly P[], message: LastMessage, input: Pick<SpeakerOrderInput<P>, 'namesOf'>): P[] {
  const replyTarget = message.fromPerson ? (message.repliedToSender ?? null) : null;
  const target = (p: P): MentionTarget => ({ userId: p.userId, names: input.namesOf?.(p) ?? [p.name] });
  const addressed = candidates.filter((p) => isAddressed(message.content, target(p), replyTarget));
  const intentional = intentionalMentions(message.content) ?? [];
  const orderKey = (p: P): number => {
    const index = textMentionIndex(message.content, target(p));
    if (index >= 0) return index;
    if (p.userId === replyTarget) return Number.MAX_SAFE_INTEGER / 2;
    return Number.MAX_SAFE_INTEGER / 2 + 1 + Math.max(0, intentional.indexOf(p.userId));
  };
  return sortedBy(addressed, orderKey);
}

/** `natural`: addressed as in `mention`, or named anywhere in the text (even when m.mentions leaves it out). */
function namedInOrder<P extends Speaker>(candidates: readonly P[], message: LastMessage, input: SpeakerOrderInput<P>): P[] {
  const addressed = new Set(addressedInOrder(candidates, message, input).map((p) => p.userId));
  const named = candidates.filter((p) => addressed.has(p.userId) || textMentionIndex(message.content, targetOf(p, input)) >= 0);
  const position = (p: P): number => {
    const index = textMentionIndex(message.content, targetOf(p, input));
    return index >= 0 ? index : Number.MAX_SAFE_INTEGER / 2;
  };
  return sortedBy(named, position);
}

function sortedBy<P>(items: readonly P[], key: (p: P) => number): P[] {
  return items
    .map((p, i) => ({ p, k: key(p), i }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map(({ p }) => p);
}

function pickRandom<P>(items: readonly P[], random: () => number): P {
  return items[Math.min(items.length - 1, Math.floor(random() * items.length))] as P;
}

/** Fisher–Yates with the injected random source. */
function shuffled<P>(items: readonly P[], random: () => number): P[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random() * (i + 1)));
    [out[i], out[j]] = [out[j] as P, out[i] as P];
  }
  return out;
}

function clamp01(n: number): number {
  return Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : DEFAULT_TALKATIVENESS;
}
