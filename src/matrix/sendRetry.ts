/**
 * Retrying sends while the homeserver is unreachable. A send carries a transaction id, and the
 * homeserver answers a repeated PUT with the same txnId with the first event's id instead of
 * posting again, so retrying a send whose answer was lost can never duplicate a message.
 */

import { describeMatrixError } from './errors.js';

/** Error codes of a request that never reached the homeserver or lost its answer on the way. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  // A container restart takes the homeserver's name out of DNS for a moment.
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** What a reverse proxy in front of a stopped or restarting homeserver answers. */
const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

/**
 * True when the homeserver could not be reached or was down (worth trying again); false for
 * an answer it gave (a 4xx refusal such as M_FORBIDDEN, which a retry would only repeat).
 */
export function isHomeserverUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const { code, statusCode, cause } = e as { code?: unknown; statusCode?: unknown; cause?: unknown };
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
    if (typeof statusCode === 'number') return UNAVAILABLE_STATUSES.has(statusCode);
    e = cause;
  }
  return false;
}

/** The cause of a failed send for a log line: the network error code, else the HTTP status and Matrix error. */
export function describeSendFailure(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { code, statusCode, message } = err as { code?: unknown; statusCode?: unknown; message?: unknown };
    if (typeof code === 'string' && typeof message === 'string') return message.includes(code) ? message : `${code}: ${message}`;
    if (typeof code === 'string') return code;
    if (typeof statusCode === 'number') {
      const matrix = describeMatrixError(err);
      return matrix.startsWith('[object') ? `HTTP ${statusCode}` : `HTTP ${statusCode} ${matrix}`;
    }
  }
  return describeMatrixError(err);
}

/**
 * Waits between attempts: doubling from `firstMs`, each at most `maxMs`, together at most
 * `budgetMs` (the last wait is cut to fit).
 */
export function backoffDelays(firstMs: number, maxMs: number, budgetMs: number): number[] {
  const delays: number[] = [];
  let total = 0;
  for (let next = firstMs; total < budgetMs; next = Math.min(next * 2, maxMs)) {
    const delay = Math.min(next, budgetMs - total);
    delays.push(delay);
    total += delay;
  }
  return delays;
}

/**
 * How long a send keeps being retried: about two minutes. Long enough to ride out a
 * homeserver restart or upgrade (Synapse restarts in seconds to a minute), short enough that
 * an answer still arrives while the conversation it belongs to is current; after that it is
 * dropped (logged and counted) rather than posted long after the fact.
 */
export const SEND_RETRY_DELAYS_MS: readonly number[] = backoffDelays(1_000, 30_000, 120_000);

export interface RetryOptions {
  /** The waits before each retry; as many retries as entries. */
  delaysMs: readonly number[];
  /** Whether a failure is worth another attempt. */
  retryable: (err: unknown) => boolean;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry with the failure that caused it. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Called when the last retry failed with a retryable error (the error is thrown after). */
  onGiveUp?: (err: unknown, attempts: number) => void;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it succeeds, fails with a non-retryable error, or the delays run out. */
export async function withRetries<T>(attempt: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? defaultSleep;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!opts.retryable(err)) throw err;
      const delay = opts.delaysMs[n];
      if (delay === undefined) {
        opts.onGiveUp?.(err, n + 1);
        throw err;
      }
      opts.onRetry?.(err, n + 1, delay);
      await sleep(delay);
    }
  }
}
