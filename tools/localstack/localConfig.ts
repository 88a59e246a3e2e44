import { dirname, join } from 'node:path';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';

/** What scripts/local-stack.sh decides; everything else in the config is the admin's. */
export interface LocalStackSettings {
  homeserverUrl: string;
  /** The sandbox Synapse's server name. */
  domain: string;
  appservicePort: number;
  adminUserId: string;
  databasePath: string;
  personasDirectory: string;
  /** Set only when the caller overrides it (PERSONAS_LLM_URL); otherwise the config's value stays. */
  llmBaseUrl?: string;
  llmModel?: string;
  /** llm.notice: set when given, removed when empty (the demo model's, gone with the demo model). */
  llmNotice?: string;
}

/** Levels at which the bridge's "bridge ready" line (info) would be hidden from the script. */
const QUIETER_THAN_INFO = new Set(['error', 'warn']);

/**
 * The local stack's config.yaml. A first run starts from config.sample.yaml (so the file
 * keeps every explanatory comment); later runs start from the existing file, so an admin's
 * edits (another LLM, a persona prefix, log level) survive. Only what the script must control
 * is set: where Synapse and the bridge listen, the admin, and the LLM when overridden.
 */
export function renderLocalConfig(existing: string | null, sample: string, s: LocalStackSettings): string {
  const doc = parseDocument(existing ?? sample);
  if (doc.errors.length > 0) throw new Error(`cannot parse the ${existing === null ? 'sample' : 'existing'} config: ${doc.errors[0]!.message}`);
  doc.setIn(['homeserver', 'url'], s.homeserverUrl);
  doc.setIn(['homeserver', 'domain'], s.domain);
  // Synapse runs on this machine and reaches the bridge over loopback.
  doc.setIn(['appservice', 'bind'], '127.0.0.1');
  doc.setIn(['appservice', 'port'], s.appservicePort);
  ensureAdmin(doc, s.adminUserId);
  if (existing === null) {
    doc.setIn(['database', 'path'], s.databasePath);
    doc.setIn(['personas', 'directory'], s.personasDirectory);
    // The sandbox Synapse has the experimental features encryption needs (scripts/synapse.sh),
    // and Element makes every new DM encrypted: on, with the store beside the database.
    doc.setIn(['encryption', 'enabled'], true);
    doc.setIn(['encryption', 'store_path'], join(dirname(s.databasePath), 'crypto'));
  }
  if (s.llmBaseUrl) doc.setIn(['llm', 'base_url'], s.llmBaseUrl);
  if (s.llmModel) doc.setIn(['llm', 'model'], s.llmModel);
  if (s.llmNotice) doc.setIn(['llm', 'notice'], s.llmNotice);
  else if (s.llmNotice === '') doc.deleteIn(['llm', 'notice']);
  const level = doc.getIn(['logging', 'level']);
  if (typeof level !== 'string' || QUIETER_THAN_INFO.has(level)) doc.setIn(['logging', 'level'], 'info');
  return doc.toString();
}

/** The sample's example admin is replaced on a first run; an admin's own additions are kept. */
function ensureAdmin(doc: Document, adminUserId: string): void {
  const admins = doc.get('admins');
  if (!isSeq(admins)) {
    doc.set('admins', [adminUserId]);
    return;
  }
  const values = admins.items.map((item) => (isMap(item) ? null : String((item as { value?: unknown }).value ?? item)));
  if (values.includes(adminUserId)) return;
  if (values.length === 1 && values[0] === '@alice:localhost') admins.items.length = 0;
  admins.add(adminUserId);
}

/**
 * The registration with its `url` pointed at the bridge, keeping its tokens (Synapse and
 * clients already trust them), and asking for what encryption needs (a registration written
 * before encryption existed lacks `org.matrix.msc3202`). Null when nothing changes.
 */
export function patchRegistrationUrl(text: string, url: string): string | null {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`cannot parse the registration: ${doc.errors[0]!.message}`);
  let changed = false;
  for (const [key, value] of [
    ['url', url],
    ['receive_ephemeral', true],
    ['org.matrix.msc3202', true],
  ] as const) {
    if (doc.get(key) === value) continue;
    doc.set(key, value);
    changed = true;
  }
  return changed ? doc.toString() : null;
}
