// Lets Node run this repository's TypeScript sources directly (benchmarks, local-stack tooling,
// the e2e global setup), without a build and without shipping them:
//
//   node --import ./tools/register-ts.mjs bench/run.ts
//
// Two things Node's own type stripping does not do for us: our sources import siblings as
// './x.js' (TypeScript's NodeNext convention; the file on disk is x.ts), and some use syntax
// that needs a transform, not just stripping (constructor parameter properties). So: a resolve
// hook that falls back from a missing './x.js' to './x.ts' when the importer is TypeScript, and
// a load hook that transpiles our .ts files (never node_modules) with the TypeScript compiler
// the project already uses, one file at a time (no type checking: `npm run typecheck` does that).
import { registerHooks } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const isOwnTypeScript = (url) => url.startsWith('file:') && url.endsWith('.ts') && !url.includes('/node_modules/');

export function register() {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      try {
        return nextResolve(specifier, context);
      } catch (err) {
        const relative = specifier.startsWith('./') || specifier.startsWith('../');
        if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !relative || !specifier.endsWith('.js') || !isOwnTypeScript(context.parentURL ?? '')) throw err;
        return nextResolve(`${specifier.slice(0, -'.js'.length)}.ts`, context);
      }
    },
    load(url, context, nextLoad) {
      if (!isOwnTypeScript(url)) return nextLoad(url, context);
      const fileName = fileURLToPath(url);
      const { outputText } = ts.transpileModule(readFileSync(fileName, 'utf8'), {
        fileName,
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2023,
          inlineSourceMap: true,
          inlineSources: true,
        },
      });
      return { format: 'module', source: outputText, shortCircuit: true };
    },
  });
}

register();
