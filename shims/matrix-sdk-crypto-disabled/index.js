'use strict';
// Why this exists: matrix-appservice-bridge -> matrix-bot-sdk require()s the Rust crypto
// library at import time, and that package fetches its native binary from GitHub in a
// postinstall step. Personas never enable end-to-end encryption, and our machines (and
// air-gapped installs) cannot reach GitHub, so the real package is replaced through npm
// "overrides" by this one. bot-sdk only touches these names inside E2EE code paths;
// reaching any of them means someone enabled encryption, which we refuse loudly.
const names = ['Attachment', 'DeviceId', 'DeviceLists', 'EncryptedAttachment', 'EncryptionSettings', 'OlmMachine', 'RoomId', 'UserId'];
for (const name of names) {
  exports[name] = class {
    constructor() {
      throw new Error(`End-to-end encryption is not supported by matrix-appservice-personas (tried to use ${name}).`);
    }
  };
}
