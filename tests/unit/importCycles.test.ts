// The import-cycle check (`npm run lint:cycles`: madge with the repo's .madgerc) must see our
// NodeNext imports ('./x.js' naming x.ts), type-only imports included, and fail on a cycle.
// Proven here on throwaway folders, so the check cannot silently pass by resolving nothing.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

function madgeCircular(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cycles-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    // Run from the repository so madge reads .madgerc, as `npm run lint:cycles` does.
    const run = spawnSync(process.execPath, [join(ROOT, 'node_modules/madge/bin/cli.js'), '--circular', '--no-spinner', '--no-color', dir], { cwd: ROOT, encoding: 'utf8' });
    return { status: run.status, output: run.stdout + run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the import cycle check', () => {
  test('fails on a cycle closed by a type-only import across folders, naming it', () => {
    const result = madgeCircular({
      'pipeline/Bridge.ts': "import { recorder } from '../memory/recorder.js';\nexport interface RoomEvent { id: string }\nexport const start = () => recorder;\n",
      'memory/recorder.ts': "import type { RoomEvent } from '../pipeline/Bridge.js';\nexport const recorder = (e: RoomEvent) => e.id;\n",
    });
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/Found 1 circular dependency/);
    expect(result.output).toMatch(/memory\/recorder\.ts > pipeline\/Bridge\.ts|pipeline\/Bridge\.ts > memory\/recorder\.ts/);
  });

  test('passes on the same modules once the shared type lives in its own module', () => {
    const result = madgeCircular({
      'matrix/events.ts': 'export interface RoomEvent { id: string }\n',
      'pipeline/Bridge.ts': "import { recorder } from '../memory/recorder.js';\nexport const start = () => recorder;\n",
      'memory/recorder.ts': "import type { RoomEvent } from '../matrix/events.js';\nexport const recorder = (e: RoomEvent) => e.id;\n",
    });
    expect(result.output).toMatch(/Processed 3 files/);
    expect(result.output).toMatch(/No circular dependency found/);
    expect(result.status).toBe(0);
  });
});
