// The production build (dist/), for the tests that run the built CLI on purpose (as an admin
// or the Docker image would). Compiled once per e2e run, on first use, so tests that drive the
// bridge in-process from its sources never wait for a build.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readState } from './state.js';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** Absolute path of a file in dist/ (e.g. 'main.js'), building dist/ first if this run has not. */
export function builtFile(relativePath: string): string {
  const marker = join(readState().runDir, 'dist-built');
  if (!existsSync(marker)) {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
    writeFileSync(marker, new Date().toISOString());
  }
  return join(ROOT, 'dist', relativePath);
}
