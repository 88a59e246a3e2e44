/**
 * The one health model: what a check found, as /health's entries (probes/HealthCheck.ts) and
 * `--check` (doctor/) both report it.
 */

/** `warn`: works, but probably not the way the admin meant; does not fail the check run. */
export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  /** What was checked, e.g. "registration url". */
  name: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do about a warning or failure. */
  hint?: string;
}

export const pass = (name: string, detail: string): CheckResult => ({ name, status: 'pass', detail });
export const warn = (name: string, detail: string, hint?: string): CheckResult => ({ name, status: 'warn', detail, ...(hint ? { hint } : {}) });
export const fail = (name: string, detail: string, hint?: string): CheckResult => ({ name, status: 'fail', detail, ...(hint ? { hint } : {}) });
