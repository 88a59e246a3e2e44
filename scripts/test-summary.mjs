// The one plain summary line of scripts/test.sh, summing the jest runs' JSON reports:
//
//   node scripts/test-summary.mjs NAME:EXIT_STATUS:REPORT.json ...
//
// A run that was started but left no report (jest writes none when its globalSetup fails, e.g.
// the Synapse build) or that exited non-zero without reporting a failing test still failed:
// it counts as one failure, named, so the line can never read "0 failed" for a red run.
import { existsSync, readFileSync } from 'node:fs';

/** @param {{name: string, status: number, report: any | undefined}[]} runs */
export function summarize(runs) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const notes = [];
  for (const { name, status, report } of runs) {
    if (!report) {
      failed += 1;
      notes.push(`${name} produced no results (exit ${status})`);
      continue;
    }
    const runFailed = report.numFailedTests + report.numRuntimeErrorTestSuites;
    passed += report.numPassedTests;
    failed += runFailed;
    skipped += report.numPendingTests + report.numTodoTests;
    if (status !== 0 && runFailed === 0) {
      failed += 1;
      notes.push(`${name} exited ${status} without a failing test`);
    }
  }
  return `tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : '') + (notes.length ? ` (${notes.join('; ')})` : '');
}

function parseRun(arg) {
  const match = /^([^:]+):(\d+):(.+)$/.exec(arg);
  if (!match) throw new Error(`expected NAME:EXIT_STATUS:REPORT.json, got '${arg}'`);
  const [, name, status, file] = match;
  const report = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  return { name, status: Number(status), report };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(summarize(process.argv.slice(2).map(parseRun)));
}
