import type { CheckResult } from '../probes/CheckResult.js';

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
