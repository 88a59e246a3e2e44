// scripts/test.sh's summary line (scripts/test-summary.mjs): a jest run whose globalSetup fails
// writes no JSON report, and the line must then show a failure instead of "0 failed".
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const summary = (...runs: string[]): string =>
  execFileSync(process.execPath, [join(ROOT, 'scripts/test-summary.mjs'), ...runs], { encoding: 'utf8' }).trim();

function report(dir: string, name: string, counts: Partial<Record<string, number>>): string {
  const file = join(dir, `${name}.json`);
  const zero = { numPassedTests: 0, numFailedTests: 0, numRuntimeErrorTestSuites: 0, numPendingTests: 0, numTodoTests: 0 };
  writeFileSync(file, JSON.stringify({ ...zero, ...counts }));
  return file;
}

describe('the test summary line', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'test-summary-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('sums the runs that reported', () => {
    const unit = report(dir, 'unit', { numPassedTests: 370, numPendingTests: 1 });
    const e2e = report(dir, 'e2e', { numPassedTests: 60, numFailedTests: 2 });
    expect(summary(`unit:0:${unit}`, `e2e:1:${e2e}`)).toBe('tests: 430 passed, 2 failed, 1 skipped');
  });

  test('a suite that failed to load counts as failed', () => {
    const unit = report(dir, 'unit', { numPassedTests: 5, numRuntimeErrorTestSuites: 1 });
    expect(summary(`unit:1:${unit}`)).toBe('tests: 5 passed, 1 failed');
  });

  test('a run that left no report is a failure, named on the line', () => {
    const unit = report(dir, 'unit', { numPassedTests: 373 });
    expect(summary(`unit:0:${unit}`, `e2e:1:${join(dir, 'missing.json')}`)).toBe(
      'tests: 373 passed, 1 failed (e2e produced no results (exit 1))',
    );
  });

  test('a non-zero exit with no failing test is a failure', () => {
    const unit = report(dir, 'unit', { numPassedTests: 12 });
    expect(summary(`unit:1:${unit}`)).toBe('tests: 12 passed, 1 failed (unit exited 1 without a failing test)');
  });

  test('jest really writes no report when its globalSetup throws, and the line then shows the failure', () => {
    writeFileSync(join(dir, 'setup.mjs'), "export default async () => { throw new Error('synapse build failed'); };\n");
    writeFileSync(join(dir, 'a.test.mjs'), "test('never runs', () => {});\n");
    writeFileSync(join(dir, 'jest.config.mjs'), "export default { globalSetup: './setup.mjs', testMatch: ['**/*.test.mjs'], transform: {} };\n");
    const out = join(dir, 'e2e.json');
    const jest = spawnSync(process.execPath, [join(ROOT, 'node_modules/jest/bin/jest.js'), '--config', join(dir, 'jest.config.mjs'), '--rootDir', dir, '--json', `--outputFile=${out}`], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(jest.status).not.toBe(0);
    expect(jest.stderr).toContain('synapse build failed');
    expect(existsSync(out)).toBe(false);
    const unit = report(dir, 'unit', { numPassedTests: 373 });
    expect(summary(`unit:0:${unit}`, `e2e:${jest.status}:${out}`)).toMatch(/^tests: 373 passed, 1 failed \(e2e produced no results/);
  });
});
