import { readFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { parse as parseYaml } from 'yaml';
import {
  REEXEC_MARKER_ENV,
  configPathFromArgs,
  isLongRunning,
  needsReexec,
  planRuntime,
  type RuntimeConfig,
  type RuntimePlan,
} from './runtimePlan.js';

/**
 * The config's `runtime` section, read leniently: the launcher runs before validation, so a
 * missing or broken file yields undefined and the bridge proper reports the problem with its
 * key path.
 */
export function readRuntimeSection(configPath: string | null): RuntimeConfig | undefined {
  if (!configPath) return undefined;
  try {
    const raw = parseYaml(readFileSync(configPath, 'utf8')) as { runtime?: unknown } | null;
    const runtime = raw?.runtime;
    return runtime && typeof runtime === 'object' && !Array.isArray(runtime) ? (runtime as RuntimeConfig) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes this process the one the runtime plan asks for: when flags or environment must change,
 * replaces it (same pid, so systemd, Docker and signals see no difference) with Node started
 * with them; otherwise returns and the caller goes on to load the bridge. Heap flags and
 * MALLOC_ARENA_MAX take effect only at process start, hence the re-execution.
 */
export function applyRuntimePlan(args: readonly string[]): void {
  const reexecuted = process.env[REEXEC_MARKER_ENV] !== undefined;
  // Not inherited by anything the bridge starts.
  delete process.env[REEXEC_MARKER_ENV];
  if (reexecuted || !isLongRunning(args)) return;
  const plan = planRuntime({ runtime: readRuntimeSection(configPathFromArgs(args)), execArgv: process.execArgv, env: process.env });
  if (!needsReexec(plan)) return;
  if (typeof process.execve !== 'function') {
    process.stderr.write(`runtime: this Node (${process.version}) cannot re-execute itself; starting without ${describePlan(plan)}\n`);
    return;
  }
  const script = process.argv[1]!;
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...plan.nodeFlags, script, ...args], {
    ...process.env,
    ...plan.env,
    [REEXEC_MARKER_ENV]: '1',
  });
}

function describePlan(plan: RuntimePlan): string {
  return [...plan.nodeFlags, ...Object.entries(plan.env).map(([k, v]) => `${k}=${v}`)].join(' ');
}

/** One log line saying what the process actually runs with (checked by tests and admins). */
export function describeRuntime(): string {
  const limitMiB = Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
  const flags = process.execArgv.length ? process.execArgv.join(' ') : '(none)';
  return `runtime: pid ${process.pid}; V8 heap limit ${limitMiB} MiB; node flags ${flags}; MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? '(unset)'}`;
}
