import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig, type BridgeConfig } from '../src/config/Config.js';
import { freePort } from '../tests/support/freePort.js';
import { buildRegistration, type RegistrationFile } from '../src/registration.js';

// Re-exported for the benchmarks that pick ports of their own.
export { freePort };


export interface BridgeSetup {
  /** As written to config.yaml (defaults not filled in). */
  raw: Record<string, unknown>;
  /** Validated, defaults applied. */
  config: BridgeConfig;
  registration: RegistrationFile;
}

/**
 * A production-like config (defaults everywhere except where the bridge must find the
 * homeserver, the model and its files) and its registration.
 */
export async function bridgeSetup(opts: {
  dir: string;
  homeserverUrl: string;
  domain: string;
  llmBaseUrl: string;
  admins?: string[];
  botLocalpart?: string;
  personaPrefix?: string;
  logLevel?: string;
}): Promise<BridgeSetup> {
  const port = await freePort();
  const personasDir = join(opts.dir, 'personas');
  mkdirSync(personasDir, { recursive: true });
  const raw: Record<string, unknown> = {
    homeserver: { url: opts.homeserverUrl, domain: opts.domain },
    appservice: {
      bind: '127.0.0.1',
      port,
      bot_localpart: opts.botLocalpart ?? 'personas',
      persona_prefix: opts.personaPrefix ?? 'persona_',
    },
    admins: opts.admins ?? [],
    database: { path: join(opts.dir, 'personas.db') },
    llm: { base_url: opts.llmBaseUrl, model: 'bench-model' },
    personas: { directory: personasDir },
    logging: { level: opts.logLevel ?? 'info' },
  };
  const config = validateConfig(structuredClone(raw), {});
  return { raw, config, registration: buildRegistration(config, `http://127.0.0.1:${port}`) };
}
