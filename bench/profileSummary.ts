/**
 * `node --import ./tools/register-ts.mjs bench/profileSummary.ts FILE.cpuprofile [N]`: the N functions with the most
 * self time and the most inclusive time in a V8 CPU profile (from `node --cpu-prof`), for
 * reading a profile of the bridge under benchmark load without a browser.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '~/').replace(/^.*\/dist\//, 'dist/');
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

export function summariseProfile(profile: CpuProfile, top = 25): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(id);
    if (!node) return;
    self.set(label(node), (self.get(label(node)) ?? 0) + dt);
    // Each function once per sample, however deep the recursion.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
    }
  });
  const pct = (v: number) => `${((100 * v) / (total || 1)).toFixed(1).padStart(5)}%`;
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([l, v]) => `${pct(v)}  ${l}`);
  return [`total ${(total / 1e6).toFixed(1)} s sampled`, '', 'self time:', ...rows(self), '', 'inclusive time:', ...rows(inclusive)];
}

if (/profileSummary\.[jt]s$/.test(process.argv[1] ?? '')) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node --import ./tools/register-ts.mjs bench/profileSummary.ts FILE.cpuprofile [N]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  for (const line of summariseProfile(profile, top ? Number(top) : 25)) console.log(line);
}
