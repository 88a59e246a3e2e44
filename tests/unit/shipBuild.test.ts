// The production build (`npm run build`, tsconfig.build.json) ships src/ and nothing else: no
// benchmarks, dev tools, tests or test helpers, and no import of a dev-only package. Built into
// a temporary folder with the build's own config, so the check never depends on a stale dist/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..', '..');
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Static and dynamic import specifiers, read by TypeScript's own pre-processor (not a regex). */
function importSpecifiers(js: string): string[] {
  return [...new Set(ts.preProcessFile(js, true, true).importedFiles.map((f) => f.fileName))];
}

const packageName = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

describe('the production build', () => {
  let out: string;
  let files: string[];

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'personas-dist-'));
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], { stdio: 'pipe' });
    files = (readdirSync(out, { recursive: true }) as string[]).filter((f) => f.endsWith('.js')).sort();
  }, 120_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test('holds the entry points the package and the image run', () => {
    expect(files).toEqual(expect.arrayContaining(['main.js', join('doctor', 'healthcheck.js')]));
  });

  test('every file is compiled from a production module in src/ (no tests, benchmarks, tools or fixtures)', () => {
    const strays = files.filter((f) => {
      const source = join(ROOT, 'src', f.replace(/\.js$/, '.ts'));
      return !existsSync(source) || /\.test\.ts$/.test(source);
    });
    expect(strays).toEqual([]);
    // `tools/` is src/tools (the personas' tools), checked above to come from src like the rest;
    // the repository's own tools/ folder (register-ts, localstack) would show as localstack/ or fail that check.
    expect(files.filter((f) => /(^|\/)(bench|localstack|tests|fakes|support)\//.test(f) || /(freePort|[Ff]ixtures?|[Ff]ake)/.test(f))).toEqual([]);
  });

  test('imports nothing outside itself and no dev-only package', () => {
    const problems: string[] = [];
    for (const file of files) {
      for (const specifier of importSpecifiers(readFileSync(join(out, file), 'utf8'))) {
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(join(out, file)), specifier);
          if (relative(out, target).startsWith('..') || !existsSync(target)) problems.push(`${file}: ${specifier}`);
        } else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) {
          if (!(packageName(specifier) in packageJson.dependencies)) problems.push(`${file}: ${specifier} (not in dependencies)`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
