import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { botUserId, type BridgeConfig } from '../config/Config.js';
import { errorOf, fetchJson, type FetchJsonOptions } from '../probes/fetchJson.js';
import { fail, pass, warn, type CheckResult } from '../probes/CheckResult.js';
import { describeError } from '../util/describeError.js';

const GUIDE = 'see docs/admin-guide.md, "Encrypted rooms"';
const REGENERATE = 'regenerate the registration with `node dist/main.js -r ...` (or add the key by hand) and restart Synapse';

/** With encryption on, the registration must ask for to-device messages and MSC3202's extensions. */
export function checkEncryptionRegistration(registration: unknown): CheckResult {
  const name = 'encryption registration';
  const reg = (typeof registration === 'object' && registration !== null ? registration : {}) as Record<string, unknown>;
  const missing: string[] = [];
  if (reg.receive_ephemeral !== true && reg['de.sorunome.msc2409.push_ephemeral'] !== true) missing.push('receive_ephemeral: true (to-device messages, MSC2409)');
  if (reg['org.matrix.msc3202'] !== true) missing.push("'org.matrix.msc3202': true (device lists and one-time key counts)");
  if (missing.length > 0) return fail(name, `the registration lacks ${missing.join(' and ')}`, REGENERATE);
  return pass(name, 'asks for to-device messages (MSC2409) and device lists / key counts (MSC3202)');
}

/** The crypto store directory exists and is writable, or can be created. */
export function checkCryptoStore(config: BridgeConfig): CheckResult {
  const name = 'crypto store';
  const path = resolve(config.encryption.store_path);
  let existing = path;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    return fail(name, `${existing} is not writable`, `give the bridge's user write access, or change encryption.store_path`);
  }
  return pass(name, existing === path ? `${path} is writable` : `${path} will be created`);
}

/**
 * Does the homeserver let the appservice act as a device of its users (MSC3202 device
 * masquerading)? Asked with a device that does not exist: a homeserver that understands the
 * parameter refuses it (M_UNKNOWN_DEVICE); one that does not ignores it and answers 200.
 * Read-only. The transaction extensions (to-device, key counts) are not advertised over the
 * client API, so they are named for the admin to check instead.
 */
export async function checkEncryptionHomeserver(config: BridgeConfig, asToken: string, opts: FetchJsonOptions): Promise<CheckResult[]> {
  const bot = botUserId(config);
  const url =
    `${config.homeserver.url.replace(/\/+$/, '')}/_matrix/client/v3/account/whoami?user_id=${encodeURIComponent(bot)}` +
    `&device_id=PERSONASCHECK&org.matrix.msc3202.device_id=PERSONASCHECK`;
  const results: CheckResult[] = [];
  try {
    const { status, json } = await fetchJson(url, { ...opts, headers: { ...opts.headers, authorization: `Bearer ${asToken}` } });
    const { code, message } = errorOf(json);
    // Synapse 1.160 says ORG.MATRIX.MSC4326.M_UNKNOWN_DEVICE; the stable name is M_UNKNOWN_DEVICE.
    if (status === 400 && /M_UNKNOWN_DEVICE$/i.test(code ?? '')) {
      results.push(pass('encryption devices', 'the homeserver lets the appservice act as its users\' devices (MSC3202 device masquerading)'));
    } else if (status === 200) {
      results.push(
        fail('encryption devices', 'the homeserver ignores the device_id parameter: it does not support appservice device masquerading (MSC3202)', `use a Synapse that does (1.94 or later); ${GUIDE}`),
      );
    } else {
      results.push(warn('encryption devices', `unexpected answer to the device masquerading probe: HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`, GUIDE));
    }
  } catch (err) {
    results.push(fail('encryption devices', describeError(err), GUIDE));
  }
  results.push(
    warn(
      'encryption transactions',
      'whether Synapse puts to-device messages and key counts into transactions cannot be asked over the API',
      'make sure homeserver.yaml has experimental_features: {msc2409_to_device_messages_enabled: true, msc3202_transaction_extensions: true}; ' +
        'without them personas cannot read encrypted messages and say so once per room',
    ),
  );
  return results;
}
