// The config of a bridge started as a process of its own (the built CLI: crash, tool crash,
// shutdown, cli and --check tests): this run's Synapse, the slot's listener and users, a
// database, a model and a persona folder. Each test adds only what it is about.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { readState, type Slot } from './state.js';

export interface BuiltBridgeConfigOptions {
  slot: Slot;
  databasePath: string;
  personasDir: string;
  /** The model endpoint; nothing listens there unless the test starts a fake model. */
  llmBaseUrl: string;
  /** The llm section's other keys (model `test-model` unless given). */
  llm?: Record<string, unknown>;
  /** Further top-level sections (`disclosure`, `logging`, `tools`, ...), set as given. */
  sections?: Record<string, unknown>;
}

export function builtBridgeConfig(o: BuiltBridgeConfigOptions): Record<string, unknown> {
  const state = readState();
  return {
    homeserver: { url: state.synapse.baseUrl, domain: state.domain },
    appservice: { bind: '127.0.0.1', port: o.slot.port, bot_localpart: o.slot.botLocalpart, persona_prefix: o.slot.personaPrefix },
    admins: [],
    database: { path: o.databasePath },
    llm: { base_url: o.llmBaseUrl, model: 'test-model', ...o.llm },
    personas: { directory: o.personasDir },
    ...o.sections,
  };
}

/** Writes `config` as YAML to `dir/name` and returns the path. */
export function writeBridgeConfig(dir: string, config: Record<string, unknown>, name = 'config.yaml'): string {
  const path = join(dir, name);
  writeFileSync(path, stringify(config));
  return path;
}
