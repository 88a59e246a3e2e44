import type { Db } from '../store/Database.js';
import { StatementCache } from '../store/StatementCache.js';
import { MessageIndex } from './MessageIndex.js';
import { toMessage, type MessageRow, type StoredMessage } from './MemoryStore.js';
import { MAX_QUERY_TERMS, queryTerms, roomTermQuery } from './searchQuery.js';

/**
 * Which part of a room's history a search may return: what the persona has seen and not
 * forgotten — messages after its `!forget` horizon, sent since it joined the room.
 */
export interface SearchScope {
  roomId: string;
  personaId: string;
  /** Only messages with an id below this (e.g. the message being answered); omit for all. */
  beforeId?: number;
}

export interface SearchHit {
  message: StoredMessage;
  /** Sum of the weights of the query terms the message contains; higher is better. */
  score: number;
  /** The query terms it contains. */
  matched: string[];
}

/** How far a search looks: how many matches per term, how many terms, the room's size counted up to. */
interface Reach {
  /**
   * Per term, the index is asked for at most this many of the room's newest matches. A term
   * with more matches than this is common in the room: it weighs little, and its older
   * matches can only be reached together with rarer terms.
   */
  matchesPerTerm: number;
  /** The text's terms looked up at most (the longest when there are more: long words are the specific ones). */
  terms: number;
  /** The room's size in the weights is counted up to this (a bounded index scan). */
  roomSizeCap: number;
  /** Longer words also match as prefixes ("photo" finds "photographs"). */
  prefixes: boolean;
}

/** An explicit search (`!search`, `!recall`): thorough. */
const SEARCH_REACH: Reach = { matchesPerTerm: 200, terms: MAX_QUERY_TERMS, roomSizeCap: 10_000, prefixes: true };

/**
 * Recall for a prompt, on every answer: bounded, so its cost does not grow with the history.
 * A prefix query reads every posting of every word with that prefix in the whole index (FTS5
 * has no prefix index here): 30-50 ms per common word with 1,000,000 messages stored, 85% of
 * the bridge's time before the model was asked (BENCHMARKS.md). Exact words still match their
 * other forms through the index's Porter stemming ("flutes"/"flute", "photographer"/
 * "photographs"). An exact word costs a walk back through the room's messages to its
 * `matchesPerTerm`-th match (~0.1 ms for 16 common ones, plus ~0.1 ms to start a query), so
 * that and the number of words bound it. A word with fewer matches qualifies on its own among
 * `roomSizeCap` messages or more (see MIN_SCORE), so counting further would only refine the
 * ranking, at the price of reading the whole room.
 */
const RECALL_REACH: Reach = { matchesPerTerm: 16, terms: 8, roomSizeCap: 1_000, prefixes: false };

/**
 * How far the room's size must be counted for the weights of these matches (per term). A
 * common term's weight is capped at MIN_SCORE / 2, which its idf reaches once the room holds
 * `commonSizeCap` messages: counting further changes nothing, so when no term is rare (every
 * one has a full page of matches, or none) the count stops there instead of at `roomSizeCap`
 * (~0.09 ms for 1,000 messages). Nothing to weigh: no count at all.
 */
function sizeNeeded(found: number[][], reach: Reach): number {
  const counts = found.map((m) => m.length).filter((n) => n > 0);
  if (counts.length === 0) return 0;
  if (counts.some((n) => n < reach.matchesPerTerm)) return reach.roomSizeCap;
  // Strictly past the point where ln(1 + N / matchesPerTerm) reaches MIN_SCORE / 2.
  const commonSizeCap = Math.floor(reach.matchesPerTerm * Math.expm1(MIN_SCORE / 2)) + 1;
  return Math.min(commonSizeCap, reach.roomSizeCap);
}

/**
 * Least score of a hit. A term with n matches among the room's N messages weighs
 * ln(1 + N / n): alone it qualifies when it is in fewer than about 1 in 11 messages.
 * Below that a "match" is noise (a message that happens to share an everyday word).
 */
export const MIN_SCORE = 2.5;

/**
 * Finds the messages of a room most relevant to a text, through the full-text index
 * memory_fts: the text's topic words (stop words dropped, longer words matched by prefix,
 * all Porter-stemmed by the index), each looked up within the room (an index seek, whatever
 * the size of the table); a message scores the weights of the words it contains, a word
 * weighing more the rarer it is in the room. Used for the prompt ("earlier in this room"),
 * `!search` and `!recall`.
 */
export class MessageSearch {
  private readonly statements: StatementCache;

  private readonly index: Pick<MessageIndex, 'flush'>;

  /** `index`: the one the stores feed (compose); by default one of its own on the same database. */
  constructor(db: Db, index?: Pick<MessageIndex, 'flush'>) {
    this.statements = new StatementCache(db);
    this.index = index ?? new MessageIndex(db);
  }

  private stmt(sql: string) {
    return this.statements.get(sql);
  }

  /**
   * The best `limit` messages of the scope for the text, best first: anything that matches
   * (an explicit search). Messages stored since the last batch are indexed first, so it sees
   * every message.
   */
  search(text: string, scope: SearchScope, limit: number): SearchHit[] {
    this.index.flush();
    return this.find(text, scope, limit, Number.MIN_VALUE, SEARCH_REACH);
  }

  /**
   * The messages of the scope relevant enough to put into a prompt unasked (scoring at least
   * {@link MIN_SCORE}), best first, at a bounded cost (see RECALL_REACH). It does not wait for
   * the index: the few messages not indexed yet are the newest, which the prompt's recent
   * history holds anyway.
   */
  recall(text: string, scope: SearchScope, limit: number): SearchHit[] {
    return this.find(text, scope, limit, MIN_SCORE, RECALL_REACH);
  }

  /** The room's messages in the scope's id range, counted up to `cap` (a bounded index scan). */
  private roomSize(roomId: string, afterId: number, beforeId: number, cap: number): number {
    if (cap === 0) return 0;
    return this.stmt('SELECT COUNT(*) FROM (SELECT 1 FROM memory_messages WHERE room_id = ? AND id > ? AND id < ? LIMIT ?)')
      .pluck()
      .get(roomId, afterId, beforeId, cap) as number;
  }

  private find(text: string, scope: SearchScope, limit: number, minScore: number, reach: Reach): SearchHit[] {
    const terms = queryTerms(text, reach.terms);
    if (terms.length === 0 || limit <= 0) return [];
    const horizon = this.stmt('SELECT forgotten_through FROM memory_horizons WHERE persona_id = ? AND room_id = ?')
      .pluck()
      .get(scope.personaId, scope.roomId) as number | undefined;
    const afterId = horizon ?? 0;
    const beforeId = scope.beforeId ?? Number.MAX_SAFE_INTEGER;
    const scores = new Map<number, { score: number; matched: string[] }>();
    const ids = this.stmt(
      `SELECT rowid AS id FROM memory_fts WHERE memory_fts MATCH ? AND rowid > ? AND rowid < ? ORDER BY rowid DESC LIMIT ?`,
    ).pluck();
    const found = terms.map((term) => ids.all(roomTermQuery(scope.roomId, term, reach.prefixes), afterId, beforeId, reach.matchesPerTerm) as number[]);
    const roomSize = this.roomSize(scope.roomId, afterId, beforeId, sizeNeeded(found, reach));
    terms.forEach((term, i) => {
      const matches = found[i]!;
      if (matches.length === 0) return;
      const idf = Math.log(1 + roomSize / matches.length);
      // A term with more matches than were fetched is common: never enough on its own.
      const weight = matches.length < reach.matchesPerTerm ? idf : Math.min(idf, MIN_SCORE / 2);
      for (const id of matches) {
        const entry = scores.get(id) ?? { score: 0, matched: [] };
        entry.score += weight;
        entry.matched.push(term);
        scores.set(id, entry);
      }
    });
    // Best first; among equals the newer message.
    const ranked = [...scores].filter(([, s]) => s.score >= minScore).sort((a, b) => b[1].score - a[1].score || b[0] - a[0]);
    const hits: SearchHit[] = [];
    // Presence: nothing from before the persona joined (persona_rooms keeps its join time).
    const visible = this.stmt(
      `SELECT * FROM memory_messages WHERE id = ?
       AND ts >= COALESCE((SELECT joined_at FROM persona_rooms WHERE user_id = ? AND room_id = ?), 0)`,
    );
    for (const [id, { score, matched }] of ranked) {
      const row = visible.get(id, scope.personaId, scope.roomId) as MessageRow | undefined;
      if (!row) continue;
      hits.push({ message: toMessage(row), score, matched });
      if (hits.length >= limit) break;
    }
    return hits;
  }
}
