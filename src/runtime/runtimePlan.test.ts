import { configPathFromArgs, flagGiven, isLongRunning, needsReexec, planRuntime, releasesIdleMemory, RUNTIME_DEFAULTS, TUNING_ENV } from './runtimePlan.js';

const base = { runtime: undefined, execArgv: [] as string[], env: {} as Record<string, string | undefined> };

describe('planRuntime', () => {
  test('defaults: old-space cap, small semi-spaces and two malloc arenas', () => {
    const plan = planRuntime(base);
    expect(plan.nodeFlags).toEqual([`--max-old-space-size=${RUNTIME_DEFAULTS.maxHeapMb}`, `--max-semi-space-size=${RUNTIME_DEFAULTS.semiSpaceMb}`]);
    expect(plan.env).toEqual({ MALLOC_ARENA_MAX: '2' });
    expect(plan.skipped).toBeNull();
    expect(needsReexec(plan)).toBe(true);
  });

  test("the admin's runtime.max_heap_mb and semi_space_mb win over the defaults", () => {
    const plan = planRuntime({ ...base, runtime: { max_heap_mb: 1536, semi_space_mb: 8 } });
    expect(plan.nodeFlags).toEqual(['--max-old-space-size=1536', '--max-semi-space-size=8']);
  });

  test('a flag given to node explicitly wins over the config, in any spelling', () => {
    const runtime = { max_heap_mb: 1536, semi_space_mb: 8 };
    expect(planRuntime({ ...base, runtime, execArgv: ['--max-old-space-size=300'] }).nodeFlags).toEqual(['--max-semi-space-size=8']);
    expect(planRuntime({ ...base, runtime, execArgv: ['--max_semi_space_size=16'] }).nodeFlags).toEqual(['--max-old-space-size=1536']);
    expect(planRuntime({ ...base, runtime, env: { NODE_OPTIONS: '--enable-source-maps --max-old-space-size=900' } }).nodeFlags).toEqual([
      '--max-semi-space-size=8',
    ]);
  });

  test('--max-heap-size counts as the old-space cap', () => {
    expect(planRuntime({ ...base, execArgv: ['--max-heap-size=700'] }).nodeFlags).toEqual([`--max-semi-space-size=${RUNTIME_DEFAULTS.semiSpaceMb}`]);
  });

  test('an existing MALLOC_ARENA_MAX is kept', () => {
    expect(planRuntime({ ...base, env: { MALLOC_ARENA_MAX: '8' } }).env).toEqual({});
  });

  test('nothing to change once the flags and the environment are in place (the re-executed process)', () => {
    const first = planRuntime(base);
    const second = planRuntime({ ...base, execArgv: first.nodeFlags, env: first.env });
    expect(second.nodeFlags).toEqual([]);
    expect(needsReexec(second)).toBe(false);
  });

  test('runtime.tune_memory: false and PERSONAS_RUNTIME_TUNING=off leave node alone', () => {
    const offByConfig = planRuntime({ ...base, runtime: { tune_memory: false, max_heap_mb: 2048 } });
    expect(offByConfig).toEqual({ nodeFlags: [], env: {}, skipped: 'runtime.tune_memory is false' });
    for (const value of ['off', '0', 'false', 'OFF']) {
      const offByEnv = planRuntime({ ...base, env: { [TUNING_ENV]: value } });
      expect(needsReexec(offByEnv)).toBe(false);
      expect(offByEnv.skipped).toContain(TUNING_ENV);
    }
    expect(needsReexec(planRuntime({ ...base, env: { [TUNING_ENV]: 'on' } }))).toBe(true);
  });

  test('invalid config values fall back to the defaults (validation reports them with their key path)', () => {
    const plan = planRuntime({ ...base, runtime: { max_heap_mb: 'lots' as unknown as number, semi_space_mb: -1 } });
    expect(plan.nodeFlags).toEqual([`--max-old-space-size=${RUNTIME_DEFAULTS.maxHeapMb}`, `--max-semi-space-size=${RUNTIME_DEFAULTS.semiSpaceMb}`]);
  });
});

describe('flagGiven', () => {
  test('matches the flag name only, with or without a value', () => {
    expect(flagGiven('max-old-space-size', ['--max-old-space-size', '100'], undefined)).toBe(true);
    expect(flagGiven('max-old-space-size', ['--max-old-space-size-x=1'], undefined)).toBe(false);
    expect(flagGiven('max-semi-space-size', [], '  ')).toBe(false);
  });
});

describe('command line', () => {
  test('finds the config file the way the Cli takes it', () => {
    expect(configPathFromArgs(['-c', 'a.yaml', '-f', 'r.yaml'])).toBe('a.yaml');
    expect(configPathFromArgs(['-f', 'r.yaml', '--config', 'b.yaml'])).toBe('b.yaml');
    expect(configPathFromArgs(['--config=c.yaml'])).toBe('c.yaml');
    expect(configPathFromArgs(['-f', 'r.yaml'])).toBeNull();
    expect(configPathFromArgs(['-c'])).toBeNull();
  });

  test('registration, --check and help are not long-running', () => {
    expect(isLongRunning(['-c', 'a.yaml', '-f', 'r.yaml'])).toBe(true);
    expect(isLongRunning(['-r', '-c', 'a.yaml', '-u', 'http://x'])).toBe(false);
    expect(isLongRunning(['--check', '-c', 'a.yaml'])).toBe(false);
    expect(isLongRunning(['--help'])).toBe(false);
  });
});

describe('releasesIdleMemory', () => {
  test('on by default, off with the tuning or on its own', () => {
    expect(releasesIdleMemory(undefined, {})).toBe(true);
    expect(releasesIdleMemory({ release_idle_memory: false }, {})).toBe(false);
    expect(releasesIdleMemory({ tune_memory: false }, {})).toBe(false);
    expect(releasesIdleMemory({}, { [TUNING_ENV]: 'off' })).toBe(false);
    expect(releasesIdleMemory({}, { [TUNING_ENV]: 'on' })).toBe(true);
  });
});
