import type { ToolCall } from '../llm/toolCalls.js';
import type { Db } from '../store/Database.js';
import { StatementCache } from '../store/StatementCache.js';

/** Whose answer a tool loop belongs to: a persona answering one message. */
export interface AnswerKey {
  personaId: string;
  eventId: string;
}

export interface StoredCall {
  callId: string;
  state: 'started' | 'done';
  result: string | null;
  isError: boolean;
}

export interface StoredRound {
  round: number;
  text: string;
  calls: ToolCall[];
  /** By call id. */
  outcomes: Map<string, StoredCall>;
}

/** Loop records older than this are deleted (their answers are long done). */
const KEEP_MS = 2 * 24 * 3600 * 1000;

/**
 * A tool loop's progress per answer in SQLite (migrations/013-tools.sql), so an answer resumed
 * after a crash goes on where it was: the rounds the model asked for, each call `started`
 * before it runs and `done` with its result after. Also the compact note of the tools an
 * answer used, kept with the answer for later prompts.
 */
export class ToolRunStore {
  private readonly sql: StatementCache;

  constructor(
    db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.sql = new StatementCache(db);
    this.prune();
  }

  rounds(key: AnswerKey): StoredRound[] {
    const rounds = this.sql.get('SELECT round, text, calls FROM tool_rounds WHERE persona_id = ? AND event_id = ? ORDER BY round').all(key.personaId, key.eventId) as Array<{ round: number; text: string; calls: string }>;
    const calls = this.sql.get('SELECT round, call_id, state, result, is_error FROM tool_calls WHERE persona_id = ? AND event_id = ?').all(key.personaId, key.eventId) as Array<{
      round: number;
      call_id: string;
      state: 'started' | 'done';
      result: string | null;
      is_error: number;
    }>;
    return rounds.map((r) => ({
      round: r.round,
      text: r.text,
      calls: JSON.parse(r.calls) as ToolCall[],
      outcomes: new Map(calls.filter((c) => c.round === r.round).map((c) => [c.call_id, { callId: c.call_id, state: c.state, result: c.result, isError: c.is_error === 1 }])),
    }));
  }

  saveRound(key: AnswerKey, round: number, text: string, calls: readonly ToolCall[]): void {
    this.sql
      .get('INSERT OR REPLACE INTO tool_rounds (persona_id, event_id, round, text, calls, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(key.personaId, key.eventId, round, text, JSON.stringify(calls), this.now());
  }

  /** Written before the call runs: found at resume, it is not run again. */
  started(key: AnswerKey, round: number, call: ToolCall, tool: string): void {
    this.sql
      .get(`INSERT OR REPLACE INTO tool_calls (persona_id, event_id, round, call_id, tool, arguments, state, created_at) VALUES (?, ?, ?, ?, ?, ?, 'started', ?)`)
      .run(key.personaId, key.eventId, round, call.id, tool, call.arguments, this.now());
  }

  done(key: AnswerKey, round: number, call: ToolCall, tool: string, result: string, isError: boolean): void {
    this.sql
      .get(
        `INSERT INTO tool_calls (persona_id, event_id, round, call_id, tool, arguments, state, result, is_error, created_at) VALUES (?, ?, ?, ?, ?, ?, 'done', ?, ?, ?)
         ON CONFLICT (persona_id, event_id, round, call_id) DO UPDATE SET state = 'done', result = excluded.result, is_error = excluded.is_error`,
      )
      .run(key.personaId, key.eventId, round, call.id, tool, call.arguments, result, isError ? 1 : 0, this.now());
  }

  /** A fresh start for this answer (regenerating it runs its tools again). */
  clear(key: AnswerKey): void {
    this.sql.get('DELETE FROM tool_rounds WHERE persona_id = ? AND event_id = ?').run(key.personaId, key.eventId);
    this.sql.get('DELETE FROM tool_calls WHERE persona_id = ? AND event_id = ?').run(key.personaId, key.eventId);
  }

  /** The note of the tools behind an answer (its first message). */
  saveNote(answerEventId: string, note: string): void {
    this.sql.get('INSERT OR REPLACE INTO answer_tools (event_id, note) VALUES (?, ?)').run(answerEventId, note);
  }

  /** The notes kept with these answers (by event id; answers without one are left out). */
  notes(answerEventIds: readonly string[]): Map<string, string> {
    if (answerEventIds.length === 0) return new Map();
    // One query for a prompt's history (one per answer in it before: a prompt built for every answer).
    const rows = this.sql
      .get('SELECT event_id, note FROM answer_tools WHERE event_id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(answerEventIds)) as Array<{ event_id: string; note: string }>;
    return new Map(rows.map((r) => [r.event_id, r.note]));
  }

  private prune(): void {
    const before = this.now() - KEEP_MS;
    this.sql.get('DELETE FROM tool_rounds WHERE created_at < ?').run(before);
    this.sql.get('DELETE FROM tool_calls WHERE created_at < ?').run(before);
  }
}
