import type { ToolServerStatus } from './Tool.js';

/**
 * The tool servers as `!status` (or any report) shows them, one line each: state, tools,
 * restarts, and the last failure while not ready. Read from ToolCatalog.status().
 */
export function describeToolServers(statuses: readonly ToolServerStatus[], now: number = Date.now()): string[] {
  return statuses.map((s) => {
    const kind = s.kind === 'builtin' ? 'built-in' : s.kind;
    const since = s.kind === 'builtin' ? '' : ` for ${duration(now - s.since)}`;
    const restarts = s.restarts ? `, restarted ${s.restarts}×` : '';
    const error = s.state !== 'ready' && s.error ? `: ${s.error}` : '';
    return `${s.server} (${kind}): ${s.state}${since}, ${s.tools} tool${s.tools === 1 ? '' : 's'}${restarts}${error}`;
  });
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
