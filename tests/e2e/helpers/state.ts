// State shared between jest's globalSetup (which starts Synapse) and the e2e test files.
import { readFileSync } from 'node:fs';
import type { SynapseInstance } from '../../harness/synapse.js';

/** One appservice registration loaded into Synapse: its own namespace, bot and port. */
export interface Slot {
  index: number;
  port: number;
  botLocalpart: string;
  personaPrefix: string;
  registrationFile: string;
}

export interface E2eState {
  runDir: string;
  synapse: SynapseInstance;
  domain: string;
  slots: Slot[];
  /** The API key every test bridge sends to its LLM: the log scan looks for it (helpers/logScan.ts). */
  llmApiKey: string;
}

export const STATE_ENV = 'PERSONAS_E2E_STATE';

export function readState(): E2eState {
  const path = process.env[STATE_ENV];
  if (!path) throw new Error(`${STATE_ENV} is not set: run e2e tests through jest's e2e project (npm run test:e2e)`);
  return JSON.parse(readFileSync(path, 'utf8')) as E2eState;
}
