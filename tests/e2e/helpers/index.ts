export { claimSlot, startTestBridge, type TestBridge, type TestBridgeOptions, type DeepPartial } from './bridge.js';
export { newUser, uniqueLocalpart, DEFAULT_WAIT_MS, type TestUser, type RawEvent } from './user.js';
export { readState } from './state.js';
export { freePort } from '../../support/freePort.js';
export { builtFile } from './built.js';
export { waitUntil } from './wait.js';
export { seedPersonas, type SeedPersona } from './seedPersonas.js';
export { stopHomeserver, startHomeserver } from './homeserver.js';
export { seedTaggedPersonas, taggedPersonaOf, timelineOrder } from './taggedPersonas.js';
