import type { Db } from '../store/Database.js';
import { StatementCache } from '../store/StatementCache.js';

/** One answer's cost (migrations/010-llm-usage.sql). */
export interface UsageEntry {
  personaId: string;
  roomId: string;
  /** Whose message was answered. */
  userId: string;
  backend: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
}

export interface UsageTotal {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  /** prompt + completion */
  tokens: number;
}

export interface KeyedTotal extends UsageTotal {
  key: string;
}

interface TotalRow {
  key?: string;
  requests: number | null;
  prompt: number | null;
  completion: number | null;
}

const toTotal = (r: TotalRow | undefined): UsageTotal => {
  const promptTokens = r?.prompt ?? 0;
  const completionTokens = r?.completion ?? 0;
  return { requests: r?.requests ?? 0, promptTokens, completionTokens, tokens: promptTokens + completionTokens };
};

/** The UTC day of a timestamp, as stored. */
export function usageDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

const SUMS = 'SUM(requests) AS requests, SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion';

/** Token usage per day, persona, room, user, backend and model, in SQLite. */
export class UsageStore {
  private readonly sql: StatementCache;

  constructor(db: Db) {
    this.sql = new StatementCache(db);
  }

  record(entry: UsageEntry, now = Date.now()): void {
    this.sql
      .get(
        `INSERT INTO llm_usage (day, persona_id, room_id, user_id, backend, model, requests, prompt_tokens, completion_tokens)
         VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)
         ON CONFLICT DO UPDATE SET requests = requests + 1,
           prompt_tokens = prompt_tokens + excluded.prompt_tokens,
           completion_tokens = completion_tokens + excluded.completion_tokens`,
      )
      .run(usageDay(now), entry.personaId, entry.roomId, entry.userId, entry.backend, entry.model, entry.promptTokens, entry.completionTokens);
  }

  personaDay(personaId: string, day: string): UsageTotal {
    return toTotal(this.sql.get(`SELECT ${SUMS} FROM llm_usage WHERE day = ? AND persona_id = ?`).get(day, personaId) as TotalRow);
  }

  userDay(userId: string, day: string): UsageTotal {
    return toTotal(this.sql.get(`SELECT ${SUMS} FROM llm_usage WHERE user_id = ? AND day = ?`).get(userId, day) as TotalRow);
  }

  /** A user's usage per day since `fromDay` (inclusive), newest first. */
  userDays(userId: string, fromDay: string): KeyedTotal[] {
    const rows = this.sql.get(`SELECT day AS key, ${SUMS} FROM llm_usage WHERE user_id = ? AND day >= ? GROUP BY day ORDER BY day DESC`).all(userId, fromDay) as TotalRow[];
    return rows.map((r) => ({ key: r.key!, ...toTotal(r) }));
  }

  /** Usage per persona since `fromDay`, most tokens first. */
  byPersona(fromDay: string): KeyedTotal[] {
    return this.grouped('persona_id', fromDay, -1);
  }

  /** The users whose messages cost most since `fromDay`. */
  topUsers(fromDay: string, limit: number): KeyedTotal[] {
    return this.grouped('user_id', fromDay, limit);
  }

  /** Usage per backend/model since `fromDay`. */
  byModel(fromDay: string): KeyedTotal[] {
    return this.grouped("backend || '/' || model", fromDay, -1);
  }

  private grouped(key: string, fromDay: string, limit: number): KeyedTotal[] {
    const rows = this.sql
      .get(`SELECT ${key} AS key, ${SUMS} FROM llm_usage WHERE day >= ? GROUP BY 1 ORDER BY SUM(prompt_tokens + completion_tokens) DESC, 1 LIMIT ?`)
      .all(fromDay, limit) as TotalRow[];
    return rows.map((r) => ({ key: r.key!, ...toTotal(r) }));
  }
}
