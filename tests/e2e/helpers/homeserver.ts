// Homeserver outages for e2e tests: stops and starts again the run's one shared Synapse
// (globalSetup's), on the same data dir, port, server name and registrations, so it comes
// back exactly as it was: users, rooms, tokens and every slot's appservice stay valid for the
// test files that run after. Test files run one at a time (--runInBand), so no other file
// sees the outage.
import { startSynapse, stopSynapse } from '../../harness/synapse.js';
import { readState } from './state.js';

/** Stops the shared Synapse (SIGTERM, waiting for it to exit). */
export async function stopHomeserver(): Promise<void> {
  await stopSynapse(readState().synapse);
}

/** Starts the shared Synapse again and resolves once its client API answers; a no-op while it runs. */
export async function startHomeserver(): Promise<void> {
  const state = readState();
  const back = await startSynapse({
    dataDir: state.synapse.dataDir,
    port: state.synapse.port,
    serverName: state.synapse.serverName,
    registrationFiles: state.slots.map((s) => s.registrationFile),
  });
  if (back.port !== state.synapse.port) throw new Error(`Synapse came back on port ${back.port}, not ${state.synapse.port}`);
}
