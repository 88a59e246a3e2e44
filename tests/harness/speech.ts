// Debian's speech tools for tests (espeak-ng, opus-tools, pocketsphinx): a thin wrapper around
// scripts/speech.sh, which installs them into the llama.cpp chroot once. Node built-ins and
// erasable TypeScript only (see synapse.ts). Needs root.
import { fileURLToPath } from 'node:url';
import { runScript } from './runScript.ts';

export const SPEECH_SCRIPT: string = process.env.PERSONAS_SPEECH_SCRIPT ?? fileURLToPath(new URL('../../scripts/speech.sh', import.meta.url));

/** Installs the tools once; quick when they are there. */
export async function buildSpeech(): Promise<void> {
  await runScript(SPEECH_SCRIPT, ['build'], true);
}
