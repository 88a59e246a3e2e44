import { rmSync } from 'node:fs';
import { stopSynapse } from '../harness/synapse.ts';
import { readState } from './helpers/state.ts';
import { assertNoSecretsInLogs } from './helpers/logScan.ts';

export default async function globalTeardown(): Promise<void> {
  const state = readState();
  await stopSynapse(state.synapse);
  // No token or key of the run may be in any bridge log line it produced (kept for a look when it is).
  try {
    assertNoSecretsInLogs(state);
  } catch (err) {
    console.error(`e2e run folder kept: ${state.runDir}`);
    throw err;
  }
  // Keep the run folder (Synapse log, bridge DBs) when asked, for post-mortems.
  if (!process.env.PERSONAS_E2E_KEEP) rmSync(state.runDir, { recursive: true, force: true });
  else console.log(`e2e run folder kept: ${state.runDir}`);
}
