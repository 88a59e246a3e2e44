#!/usr/bin/env node
// Completes package-lock.json with the platform-specific optional packages that the
// registry we install from does not serve (e.g. unrs-resolver's android/win32/... bindings).
// npm leaves them out of the lock when it cannot fetch their metadata, and `npm ci` then
// refuses the lock as out of sync. Each added entry carries os/cpu(/libc) read from the
// package name, so npm never tries to fetch it on a machine it does not match.
// Run after changing dependencies: `node scripts/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';
import { URL } from 'node:url';

const LOCK = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages;

const OS = { android: 'android', darwin: 'darwin', freebsd: 'freebsd', linux: 'linux', openharmony: 'openharmony', win32: 'win32', wasm32: null };
const CPU = { arm: 'arm', 'arm-eabi': 'arm', arm64: 'arm64', x64: 'x64', ia32: 'ia32', loong64: 'loong64', ppc64: 'ppc64', riscv64: 'riscv64', s390x: 's390x' };

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const osIndex = parts.findIndex((p) => p in OS);
  if (osIndex === -1) return null;
  const rest = parts.slice(osIndex + 1);
  const cpu = CPU[`${rest[0]}-${rest[1]}`] ? `${rest[0]}-${rest[1]}` : rest[0];
  if (!(cpu in CPU)) return null;
  const entry = { os: [OS[parts[osIndex]]], cpu: [CPU[cpu]] };
  if (rest.some((p) => p.startsWith('musl'))) entry.libc = ['musl'];
  else if (rest.some((p) => p.startsWith('gnu'))) entry.libc = ['glibc'];
  return entry;
}

let added = 0;
for (const [path, pkg] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const depPath = `${path ? `${path}/` : ''}node_modules/${dep}`;
    if (packages[depPath] || packages[`node_modules/${dep}`]) continue;
    const platform = platformOf(dep);
    if (!platform) {
      console.warn(`complete-lockfile: ${dep} is missing from the lock and not platform-specific; leaving it`);
      continue;
    }
    packages[`node_modules/${dep}`] = { version, ...(pkg.dev ? { dev: true } : {}), optional: true, ...platform };
    added++;
  }
}
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform-specific optional entr${added === 1 ? 'y' : 'ies'}`);
