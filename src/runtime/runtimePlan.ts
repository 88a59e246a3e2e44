/**
 * How the bridge's Node process is sized: V8's heap flags and glibc's malloc arenas, chosen
 * from measurements (BENCHMARKS.md, issue #18) and overridable by the admin. Pure decision
 * code: the launcher (launch.ts) reads the inputs and re-executes Node with the result.
 *
 * Why at all: left to itself, Node 24 on a machine with a few GB of RAM lets the young
 * generation grow to 3 x 64 MB and the old generation to 4 GB. A burst (10,000 rooms made
 * known, an ingest run) grows the heap to hundreds of MB of garbage that stays resident while
 * idle; small semi-spaces and an old-space cap keep V8 collecting instead of growing.
 */

/** The `runtime` section of the config, as written by the admin (validated by the schema). */
export interface RuntimeConfig {
  /** Apply the settings below at start (false: Node's own defaults, plus any flags given). */
  tune_memory?: boolean;
  /** V8's old-generation cap (`--max-old-space-size`); the process aborts beyond it. */
  max_heap_mb?: number;
  /** V8's young-generation semi-space (`--max-semi-space-size`). */
  semi_space_mb?: number;
  /** Return the heap's unused pages to the system once the bridge goes quiet after growing (IdleMemoryRelease). */
  release_idle_memory?: boolean;
}

/**
 * Defaults, from `npm run bench` with 1,000 personas and 10,000 rooms (BENCHMARKS.md).
 * The old-space cap leaves several times the largest heap measured under load (a burst of
 * 10,000-event transactions) so that a legitimate burst never ends in an out-of-memory abort.
 */
export const RUNTIME_DEFAULTS = {
  maxHeapMb: 512,
  semiSpaceMb: 2,
  /** glibc arenas: one per thread by default, each keeping freed memory mapped. */
  mallocArenaMax: '2',
} as const;

/** Environment switch for when the launcher must not re-execute Node at all (debuggers, wrappers). */
export const TUNING_ENV = 'PERSONAS_RUNTIME_TUNING';
/** Set by the launcher on the process it starts, so a re-execution can never loop. */
export const REEXEC_MARKER_ENV = 'PERSONAS_RUNTIME_REEXEC';

export interface RuntimeInputs {
  /** The config file's `runtime` section, or undefined when absent or unreadable. */
  runtime: RuntimeConfig | undefined;
  /** Flags Node already runs with (process.execArgv). */
  execArgv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
}

export interface RuntimePlan {
  /** Node flags to add; explicit flags already given are never overridden. */
  nodeFlags: string[];
  /** Environment variables to set (only those not already set). */
  env: Record<string, string>;
  /** Why nothing is applied, when nothing is. */
  skipped: string | null;
}

/** The flags we manage, by V8 name (V8 accepts `-` and `_` alike). */
const MANAGED = {
  oldSpace: 'max-old-space-size',
  semiSpace: 'max-semi-space-size',
} as const;

function normalise(flag: string): string {
  return flag.replace(/^--?/, '').split('=')[0]!.replaceAll('_', '-');
}

/** True when the flag appears in Node's arguments or NODE_OPTIONS (where the admin may set it). */
export function flagGiven(name: string, execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/).filter(Boolean)];
  // --max-heap-size sets both generations at once; treat it as covering the old-space cap.
  return given.some((arg) => {
    const n = normalise(arg);
    return n === name || (name === MANAGED.oldSpace && n === 'max-heap-size');
  });
}

const OFF = new Set(['0', 'off', 'false', 'no']);

/** True when the environment switches the runtime tuning off (PERSONAS_RUNTIME_TUNING=off). */
export function tuningOffByEnv(env: Readonly<Record<string, string | undefined>>): boolean {
  const value = env[TUNING_ENV]?.trim().toLowerCase();
  return value !== undefined && OFF.has(value);
}

/**
 * Whether the running bridge releases idle memory: part of the tuning, so off with it (Node's
 * own behaviour, as the benchmark's comparison runs), and off on its own with
 * `runtime.release_idle_memory: false`.
 */
export function releasesIdleMemory(runtime: RuntimeConfig | undefined, env: Readonly<Record<string, string | undefined>>): boolean {
  return !tuningOffByEnv(env) && runtime?.tune_memory !== false && runtime?.release_idle_memory !== false;
}

/**
 * What to start Node with. Precedence, highest first: a flag given explicitly to Node (on its
 * command line or in NODE_OPTIONS), then the config's `runtime` section, then the defaults.
 * `runtime.tune_memory: false` or PERSONAS_RUNTIME_TUNING=off leaves Node as it was started.
 */
export function planRuntime({ runtime, execArgv, env }: RuntimeInputs): RuntimePlan {
  const none = (skipped: string): RuntimePlan => ({ nodeFlags: [], env: {}, skipped });
  if (tuningOffByEnv(env)) return none(`${TUNING_ENV}=${env[TUNING_ENV]}`);
  if (runtime?.tune_memory === false) return none('runtime.tune_memory is false');

  const nodeFlags: string[] = [];
  const wanted: [string, number][] = [
    [MANAGED.oldSpace, positiveInteger(runtime?.max_heap_mb) ?? RUNTIME_DEFAULTS.maxHeapMb],
    [MANAGED.semiSpace, positiveInteger(runtime?.semi_space_mb) ?? RUNTIME_DEFAULTS.semiSpaceMb],
  ];
  for (const [name, mb] of wanted) if (!flagGiven(name, execArgv, env.NODE_OPTIONS)) nodeFlags.push(`--${name}=${mb}`);
  const setEnv: Record<string, string> = {};
  if (env.MALLOC_ARENA_MAX === undefined) setEnv.MALLOC_ARENA_MAX = RUNTIME_DEFAULTS.mallocArenaMax;
  return { nodeFlags, env: setEnv, skipped: null };
}

/** The config's value when usable; an invalid one is reported by the config validation later. */
function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** True when the plan needs a new process (flags and MALLOC_ARENA_MAX act only at start). */
export function needsReexec(plan: RuntimePlan): boolean {
  return plan.nodeFlags.length > 0 || Object.keys(plan.env).length > 0;
}

/**
 * The config file the bridge will read, from its command line (`-c FILE`, `--config FILE`,
 * `--config=FILE`), as matrix-appservice-bridge's Cli parses it; null when not given.
 */
export function configPathFromArgs(args: readonly string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-c' || arg === '--config') return args[i + 1] ?? null;
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return null;
}

/** Short-lived commands (registration, preflight, help) gain nothing from a re-execution. */
export function isLongRunning(args: readonly string[]): boolean {
  return !args.some((a) => ['-r', '--generate-registration', '--check', '-h', '--help'].includes(a));
}
