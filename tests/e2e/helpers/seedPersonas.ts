import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** One seed persona file's fields (the seed persona YAML of `personas.dir`). */
export interface SeedPersona {
  name: string;
  prompt: string;
  [field: string]: unknown;
}

/**
 * Writes each persona as `<name>.yaml` into a new temporary folder and returns the folder,
 * for `startTestBridge({ personasDir })`.
 */
export function seedPersonas(tag: string, personas: SeedPersona[]): string {
  const dir = mkdtempSync(join(tmpdir(), `${tag}-personas-`));
  for (const persona of personas) writeFileSync(join(dir, `${persona.name.toLowerCase()}.yaml`), stringify(persona));
  return dir;
}
