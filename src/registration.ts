import { writeFileSync } from 'node:fs';
import { AppServiceRegistration } from 'matrix-appservice-bridge';
import { stringify } from 'yaml';
import { personaUserRegex, type BridgeConfig } from './config/Config.js';

export const REGISTRATION_ID = 'matrix-appservice-personas';

export interface RegistrationFile {
  id: string;
  url: string;
  as_token: string;
  hs_token: string;
  sender_localpart: string;
  namespaces: { users: { exclusive: boolean; regex: string }[]; aliases: never[]; rooms: never[] };
  rate_limited: boolean;
  receive_ephemeral: boolean;
  'de.sorunome.msc2409.push_ephemeral': boolean;
  'org.matrix.msc3202': boolean;
}

/**
 * The registration Synapse loads. Built by hand rather than with AppServiceRegistration's
 * YAML output because that drops `receive_ephemeral` (the stable name of MSC2409).
 * The bot's own MXID matches no persona regex unless bot_localpart starts with the persona
 * prefix; the sender is always in the AS's namespace anyway.
 */
export function buildRegistration(config: BridgeConfig, url: string): RegistrationFile {
  return {
    id: REGISTRATION_ID,
    url,
    as_token: AppServiceRegistration.generateToken(),
    hs_token: AppServiceRegistration.generateToken(),
    sender_localpart: config.appservice.bot_localpart,
    namespaces: { users: [{ exclusive: true, regex: personaUserRegex(config) }], aliases: [], rooms: [] },
    // Personas may answer bursts in busy rooms; our own limits (dispatch.*) apply instead.
    rate_limited: false,
    // Ephemeral events; with Synapse's msc2409_to_device_messages_enabled also the to-device
    // messages that carry room keys to personas' devices (end-to-end encryption).
    receive_ephemeral: true,
    'de.sorunome.msc2409.push_ephemeral': true,
    // MSC3202 transaction extensions (with Synapse's msc3202_transaction_extensions): device
    // list changes and one-time key counts for personas' devices. Harmless without encryption.
    'org.matrix.msc3202': true,
  };
}

export function writeRegistration(path: string, registration: RegistrationFile): void {
  // 0600: the file holds both tokens.
  writeFileSync(path, stringify(registration), { mode: 0o600 });
}
