/**
 * The bridge's command line (run, generate a registration, --check), loaded by main.ts once
 * the process runs with its runtime settings.
 */
import { resolve } from 'node:path';
import { AppServiceRegistration, Cli } from 'matrix-appservice-bridge';
import { validateConfig } from './config/Config.js';
import { ConfigErrors } from './config/ConfigError.js';
import { configureLogging, getLogger, logFile } from './logging.js';
import { compose } from './app/compose.js';
import { buildRegistration, writeRegistration } from './registration.js';
import type { Services } from './app/Services.js';
import { describeRuntime } from './runtime/launch.js';
import { IdleMemoryRelease, lastResortGc } from './runtime/IdleMemoryRelease.js';
import { releasesIdleMemory } from './runtime/runtimePlan.js';
import { describeErrorWithStack } from './util/describeError.js';

const log = getLogger('main');

/** Prints a config problem the way an admin needs it (every key path) and exits non-zero. */
function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigErrors) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`Failed to start: ${describeErrorWithStack(err)}\n`);
  }
  process.exit(1);
}

function configFrom(raw: Record<string, unknown> | null): ReturnType<typeof validateConfig> {
  try {
    return validateConfig(raw);
  } catch (err) {
    exitOnConfigError(err);
  }
}

async function run(port: number | null, rawConfig: Record<string, unknown> | null, registration: AppServiceRegistration | null): Promise<void> {
  const config = configFrom(rawConfig);
  configureLogging(config.logging);
  log.info(describeRuntime());
  if (!registration) throw new Error('no registration file loaded');
  const app = compose({ config, registration, ...(port ? { port } : {}) });

  let shuttingDown = false;
  let memoryRelease: IdleMemoryRelease | null = null;
  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    memoryRelease?.stop();
    log.info(`${signal} received, shutting down`);
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('error during shutdown', { error: err });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  // logrotate moved the log file away: write to a new one at the configured path.
  process.on('SIGHUP', () => {
    const file = logFile();
    if (!file) return log.info('SIGHUP received; no logging.file to reopen');
    file.reopen().then(
      () => log.info('SIGHUP received: log file reopened'),
      (err: unknown) => log.error('reopening the log file failed', { error: err }),
    );
  });
  process.once('SIGINT', () => shutdown('SIGINT'));

  await app.start();
  // Growth is measured from here, once the personas are provisioned and the modules loaded.
  memoryRelease = idleMemoryRelease(config, app.services);
  memoryRelease?.start();
  // Scripts (scripts/local-stack.sh) wait for this line: personas are provisioned by now.
  log.info(`bridge ready: ${app.services.botUserId} with ${app.services.personas.list().length} persona(s)`);
}

/**
 * Unused heap pages back to the system once the bridge has grown and gone quiet
 * (runtime.release_idle_memory). Here rather than in compose(): it acts on the whole process,
 * and tests host several bridges in theirs.
 */
function idleMemoryRelease(config: ReturnType<typeof validateConfig>, services: Services): IdleMemoryRelease | null {
  if (!releasesIdleMemory(config.runtime, process.env)) return null;
  const collect = lastResortGc();
  if (!collect) {
    log.warn('runtime: this Node offers no full collection; idle memory is not released');
    return null;
  }
  const { eventQueue, commandQueue, dispatcher, summarizer, matrix } = services;
  const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
  return new IdleMemoryRelease(collect, {
    working: () => eventQueue.activeRooms > 0 || commandQueue.activeRooms > 0 || dispatcher.busy || summarizer.busy || matrix.sending > 0,
    onRelease: ({ rssBefore, rssAfter, ms }) => log.debug(`idle: released memory, RSS ${mib(rssBefore)} -> ${mib(rssAfter)} MiB in ${ms.toFixed(0)} ms`),
  });
}

const cli = new Cli<Record<string, unknown>>({
  registrationPath: 'registration/personas-registration.yaml',
  enableRegistration: true,
  bridgeConfig: {
    affectsRegistration: true,
    // The Cli only loads the YAML; we validate it ourselves with ajv so errors name key paths.
    schema: { type: 'object' },
    defaults: {},
  },
  generateRegistration(_reg: AppServiceRegistration, done: (reg: AppServiceRegistration) => void) {
    const config = configFrom(cli.getConfig());
    const url = (cli.getArgs() as { url?: string } | null)?.url ?? `http://${config.appservice.bind}:${config.appservice.port}`;
    const path = resolve(cli.getRegistrationFilePath());
    writeRegistration(path, buildRegistration(config, url));
    process.stdout.write(`Wrote registration to ${path}\nAdd it to homeserver.yaml under app_service_config_files and restart Synapse.\n`);
    // Not calling done(): it would rewrite the file through AppServiceRegistration, which
    // drops receive_ephemeral.
    void done;
    process.exit(0);
  },
  run(port, rawConfig, registration) {
    run(port, rawConfig, registration).catch(exitOnConfigError);
  },
});

// `--check` is ours: the Cli's option parser ignores flags it does not know, so it would
// start the bridge instead.
if (process.argv.includes('--check')) {
  // Loaded only here: the checks' code has no business in the running bridge.
  import('./doctor/doctor.js')
    .then(({ runDoctor }) => runDoctor(process.argv.slice(2)))
    .then(
      (code) => process.exit(code),
      (err: unknown) => {
        process.stderr.write(`--check failed: ${describeErrorWithStack(err)}\n`);
        process.exit(1);
      },
    );
} else {
  try {
    cli.run();
  } catch (err) {
    exitOnConfigError(err);
  }
}
