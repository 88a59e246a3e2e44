import { rmSync } from 'node:fs';
import { stopSynapse } from '../harness/synapse.ts';
import { readState } from './helpers/state.ts';

export default async function globalTeardown(): Promise<void> {
  const state = readState();
  await stopSynapse(state.synapse);
  // Keep the run folder (Synapse log, bridge DBs) when asked, for post-mortems.
  if (!process.env.PERSONAS_E2E_KEEP) rmSync(state.runDir, { recursive: true, force: true });
  else console.log(`e2e run folder kept: ${state.runDir}`);
}
