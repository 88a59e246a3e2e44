// The e2e-wide secrets check (issue 22): every bridge log line the suite produced (the
// in-process bridges' log files written through tests/e2e/setup.ts at the most verbose level,
// and the output of the bridges run as processes) is searched for the run's tokens and keys.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { E2eState } from './state.js';

/** Where bridge logs of this run are collected. */
export const logsDir = (runDir: string): string => join(runDir, 'logs');

/** The secrets of the run: every slot's as_token and hs_token, and the LLM API key the bridges use. */
export function runSecrets(state: E2eState): string[] {
  const secrets = state.slots.flatMap((slot) => {
    const reg = parseYaml(readFileSync(slot.registrationFile, 'utf8')) as { as_token: string; hs_token: string };
    return [reg.as_token, reg.hs_token];
  });
  return [...secrets, state.llmApiKey];
}

export interface SecretSighting {
  file: string;
  line: number;
  /** Which secret (by kind, never its value). */
  what: string;
}

/** Every line of every file in `dir` that contains one of the secrets. */
export function findSecrets(dir: string, secrets: { value: string; what: string }[]): SecretSighting[] {
  const found: SecretSighting[] = [];
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return found;
  }
  for (const file of files.sort()) {
    const lines = readFileSync(join(dir, file), 'utf8').split('\n');
    lines.forEach((text, i) => {
      for (const secret of secrets) if (text.includes(secret.value)) found.push({ file, line: i + 1, what: secret.what });
    });
  }
  return found;
}

/** Fails (with file and line, never the secret) when any bridge log line of the run holds a secret. */
export function assertNoSecretsInLogs(state: E2eState): void {
  const secrets = runSecrets(state).map((value, i, all) => ({ value, what: i === all.length - 1 ? 'the LLM API key' : `slot ${Math.floor(i / 2)}'s ${i % 2 ? 'hs_token' : 'as_token'}` }));
  const found = findSecrets(logsDir(state.runDir), secrets);
  if (found.length === 0) return;
  const where = found.slice(0, 20).map((s) => `  ${s.file}:${s.line}: ${s.what}`);
  throw new Error(`${found.length} bridge log line(s) of this e2e run hold a secret:\n${where.join('\n')}`);
}
