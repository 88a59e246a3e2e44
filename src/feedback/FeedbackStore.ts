import type { Db } from '../store/Database.js';
import { StatementCache } from '../store/StatementCache.js';

export type FeedbackKind = 'up' | 'down' | 'star';

export interface FeedbackCounts {
  up: number;
  down: number;
  star: number;
}

export interface NewFeedback {
  reactionEventId: string;
  roomId: string;
  answerEventId: string;
  personaId: string;
  sender: string;
  kind: FeedbackKind;
  byAdmin: boolean;
}

export interface FeedbackReason {
  roomId: string;
  answerEventId: string;
  sender: string;
  body: string;
  createdAt: number;
  /** The answer's text, when memory still has it. */
  answer: string | null;
}

/** Longest reason kept (characters). */
const MAX_REASON = 1000;

/**
 * Reactions on personas' answers and the reasons people gave for a 👎 (migrations/015). A
 * withdrawn reaction (redacted) is deleted. Style examples are read with the answer's text
 * from memory, so an answer redacted or forgotten there is no example any more.
 */
export class FeedbackStore {
  private readonly statements: StatementCache;

  constructor(db: Db) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string) {
    return this.statements.get(sql);
  }

  /** False when this reaction (or the same person's same reaction on that answer) is recorded already. */
  record(f: NewFeedback, now = Date.now()): boolean {
    return (
      this.stmt(
        `INSERT OR IGNORE INTO answer_feedback (reaction_event_id, room_id, answer_event_id, persona_id, sender, kind, by_admin, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(f.reactionEventId, f.roomId, f.answerEventId, f.personaId, f.sender, f.kind, f.byAdmin ? 1 : 0, now).changes === 1
    );
  }

  /** A redacted reaction: its feedback is withdrawn. What it was, or undefined when it was none of ours. */
  withdraw(reactionEventId: string): { personaId: string; kind: FeedbackKind } | undefined {
    const row = this.stmt('SELECT persona_id, kind FROM answer_feedback WHERE reaction_event_id = ?').get(reactionEventId) as
      | { persona_id: string; kind: FeedbackKind }
      | undefined;
    if (!row) return undefined;
    this.stmt('DELETE FROM answer_feedback WHERE reaction_event_id = ?').run(reactionEventId);
    return { personaId: row.persona_id, kind: row.kind };
  }

  /** True when `sender` gave this answer a 👎 (and has not withdrawn it). */
  gaveDown(answerEventId: string, sender: string): { personaId: string } | undefined {
    const row = this.stmt(`SELECT persona_id FROM answer_feedback WHERE answer_event_id = ? AND sender = ? AND kind = 'down'`).get(answerEventId, sender) as
      | { persona_id: string }
      | undefined;
    return row && { personaId: row.persona_id };
  }

  addReason(r: { eventId: string; roomId: string; answerEventId: string; personaId: string; sender: string; body: string }, now = Date.now()): boolean {
    return (
      this.stmt('INSERT OR IGNORE INTO feedback_reasons (event_id, room_id, answer_event_id, persona_id, sender, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        r.eventId,
        r.roomId,
        r.answerEventId,
        r.personaId,
        r.sender,
        r.body.slice(0, MAX_REASON),
        now,
      ).changes === 1
    );
  }

  counts(personaId: string): FeedbackCounts {
    const rows = this.stmt('SELECT kind, COUNT(*) AS n FROM answer_feedback WHERE persona_id = ? GROUP BY kind').all(personaId) as Array<{ kind: FeedbackKind; n: number }>;
    return toCounts(rows);
  }

  /** Every persona with feedback, for the metrics. */
  allCounts(): Array<{ personaId: string } & FeedbackCounts> {
    const rows = this.stmt('SELECT persona_id, kind, COUNT(*) AS n FROM answer_feedback GROUP BY persona_id, kind').all() as Array<{
      persona_id: string;
      kind: FeedbackKind;
      n: number;
    }>;
    const byPersona = new Map<string, Array<{ kind: FeedbackKind; n: number }>>();
    for (const r of rows) byPersona.set(r.persona_id, [...(byPersona.get(r.persona_id) ?? []), r]);
    return [...byPersona].map(([personaId, kinds]) => ({ personaId, ...toCounts(kinds) }));
  }

  /**
   * The texts of the persona's starred answers, most recently starred first: by an admin's ⭐
   * only, or by anyone's. Answers memory no longer has (redacted, forgotten) are left out.
   */
  starredAnswers(personaId: string, options: { anyone: boolean; limit: number }): string[] {
    if (options.limit <= 0) return [];
    const rows = this.stmt(
      `SELECT m.body AS body, MAX(f.created_at) AS starred FROM answer_feedback f JOIN memory_messages m ON m.event_id = f.answer_event_id
       WHERE f.persona_id = ? AND f.kind = 'star' AND (f.by_admin = 1 OR ?)
       GROUP BY f.answer_event_id ORDER BY starred DESC LIMIT ?`,
    ).all(personaId, options.anyone ? 1 : 0, options.limit) as Array<{ body: string }>;
    return rows.map((r) => r.body);
  }

  /** The reasons given for the persona's 👎-ed answers, newest first. */
  reasons(personaId: string, limit: number): FeedbackReason[] {
    const rows = this.stmt(
      `SELECT r.room_id, r.answer_event_id, r.sender, r.body, r.created_at, m.body AS answer FROM feedback_reasons r
       LEFT JOIN memory_messages m ON m.event_id = r.answer_event_id
       WHERE r.persona_id = ? ORDER BY r.created_at DESC LIMIT ?`,
    ).all(personaId, limit) as Array<{ room_id: string; answer_event_id: string; sender: string; body: string; created_at: number; answer: string | null }>;
    return rows.map((r) => ({ roomId: r.room_id, answerEventId: r.answer_event_id, sender: r.sender, body: r.body, createdAt: r.created_at, answer: r.answer }));
  }

  /** Everything one person gave (forget me): reactions and reasons; how many rows went. */
  forgetUser(userId: string): number {
    const reactions = this.stmt('DELETE FROM answer_feedback WHERE sender = ?').run(userId).changes;
    const reasons = this.stmt('DELETE FROM feedback_reasons WHERE sender = ?').run(userId).changes;
    return reactions + reasons;
  }
}

function toCounts(rows: Array<{ kind: FeedbackKind; n: number }>): FeedbackCounts {
  const counts: FeedbackCounts = { up: 0, down: 0, star: 0 };
  for (const r of rows) counts[r.kind] = r.n;
  return counts;
}

/** `👍 12 · 👎 3 · ⭐ 2 (80% positive)`: what `!persona show` and `!feedback` say. */
export function describeCounts(c: FeedbackCounts): string {
  const rated = c.up + c.down;
  const rating = rated > 0 ? ` (${Math.round((c.up / rated) * 100)}% positive)` : '';
  return `👍 ${c.up} · 👎 ${c.down} · ⭐ ${c.star}${rating}`;
}

/** Share of 👍 among 👍 and 👎, or null with neither. */
export function rating(c: FeedbackCounts): number | null {
  const rated = c.up + c.down;
  return rated > 0 ? c.up / rated : null;
}
