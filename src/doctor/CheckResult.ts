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

/** The pass/fail list as printed by `--check`, with a summary line. */
export function formatResults(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length), 4);
  const lines = results.map((r) => {
    const head = `  ${r.status.toUpperCase().padEnd(4)}  ${r.name.padEnd(width)}  ${r.detail}`;
    return r.hint ? `${head}\n  ${' '.repeat(4)}  ${' '.repeat(width)}  -> ${r.hint}` : head;
  });
  const failed = results.filter((r) => r.status === 'fail').length;
  const warned = results.filter((r) => r.status === 'warn').length;
  const summary =
    failed > 0
      ? `FAILED: ${failed} of ${results.length} checks failed${warned ? `, ${warned} warning(s)` : ''}.`
      : `OK: ${results.length - warned} checks passed${warned ? `, ${warned} warning(s)` : ''}.`;
  return `${lines.join('\n')}\n${summary}\n`;
}
