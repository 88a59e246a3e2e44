/**
 * The composition of Matrix access (part of the composition root, compose.ts): the library's
 * Bridge (its events handed to the event handling), the one gateway every request goes
 * through, room membership, the room's voice and its settings (room state).
 */
import { Bridge, type AppServiceRegistration } from 'matrix-appservice-bridge';
import type { BridgeConfig } from '../config/Config.js';
import { getLogger } from '../logging.js';
import { MatrixGateway } from '../matrix/MatrixGateway.js';
import { RoomMembers } from '../matrix/RoomMembers.js';
import type { Metrics } from '../metrics/Metrics.js';
import type { PersonaStore } from '../personas/PersonaStore.js';
import type { EventHandling } from '../pipeline/EventHandling.js';
import { RoomSettingsStore } from '../rooms/RoomSettingsStore.js';
import { RoomVoice } from '../rooms/RoomVoice.js';

const log = getLogger('compose');

export interface MatrixParts {
  config: BridgeConfig;
  registration: AppServiceRegistration;
  botUserId: string;
  personas: PersonaStore;
  metrics: Metrics | null;
  /** Where the library hands each pushed event. */
  events: Pick<EventHandling, 'onEvent'>;
}

export interface MatrixAccess {
  bridge: Bridge;
  matrix: MatrixGateway;
  members: RoomMembers;
  voice: RoomVoice;
  roomSettings: RoomSettingsStore;
  /** Asks the homeserver to ping us: it then delivers at once what it held back. */
  pingAppservice(): Promise<void>;
}

export function composeMatrix({ config, registration, botUserId, personas, metrics, events }: MatrixParts): MatrixAccess {
  const bridge = new Bridge({
    homeserverUrl: config.homeserver.url,
    domain: config.homeserver.domain,
    registration,
    // Our own SQLite store replaces the bridge's NeDB stores.
    disableStores: true,
    disableContext: true,
    // Personas must see each other's messages (conversations between personas, loops).
    suppressEcho: false,
    // Events reach onEvent in arrival order; the event queue keeps each room in order itself. The
    // library's per_room queue does not wait for a request to be resolved, only for its
    // (disabled) context, and walks every room it has ever seen on each event: at 10,000
    // rooms that cost more than handling the event (BENCHMARKS.md).
    queue: { type: 'none', perRequest: true },
    controller: {
      onEvent: events.onEvent,
      onLog: (text: string, isError: boolean) => (isError ? log.warn(text) : log.debug(text)),
    },
  });
  const matrix = new MatrixGateway(bridge, botUserId, { onSendDropped: () => metrics?.sendDropped() });
  const pingAppservice = async (): Promise<void> => {
    const appserviceId = registration.getId();
    if (appserviceId) await matrix.pingAppservice(appserviceId);
  };
  const members = new RoomMembers(async (roomId) => {
    // As one of our users in the room: personas recorded there first (most rooms with
    // personas, every DM with one, do not have the bot, and asking as the bot there costs a
    // refused request per room loaded), else the bot.
    let lastError: unknown;
    for (const userId of [...personas.personasInRoom(roomId), botUserId]) {
      try {
        return await matrix.joinedMembers(userId, roomId);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(`cannot load members of ${roomId}`);
  });
  // Who speaks for the bridge in a room (notices, command answers, scene messages): one rule.
  const voice = new RoomVoice({
    botUserId,
    members,
    personasIn: (roomId) => personas.personasInRoom(roomId),
    sendNotice: (userId, roomId, text, html) => matrix.sendNotice(userId, roomId, text, html),
  });
  const roomSettings = new RoomSettingsStore({
    state: { getState: (u, r, t, k) => matrix.getState(u, r, t, k), putState: (u, r, t, k, c) => matrix.putState(u, r, t, k, c) },
    // The bot first (rooms usually give it the power to set state), then the personas there.
    ourUsersIn: (roomId) => voice.ourUsersIn(roomId),
    report: async (roomId, text) => void (await voice.notice(roomId, text)),
  });
  return { bridge, matrix, members, voice, roomSettings, pingAppservice };
}
