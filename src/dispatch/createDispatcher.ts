import type { Bridge } from 'matrix-appservice-bridge';
import type { CommandTable } from '../bot/CommandTable.js';
import type { BridgeConfig } from '../config/Config.js';
import type { MatrixSender } from '../matrix/MatrixSender.js';
import type { PersonaDirectory } from '../personas/Persona.js';
import { Dispatcher, type MembershipView, type PersonaCommandHook } from './Dispatcher.js';
import type { Responder } from './Responder.js';

/** The parts of the application (PersonaBridge) the dispatcher is built from. */
export interface DispatcherHost {
  config: BridgeConfig;
  botUserId: string;
  bridge: Pick<Bridge, 'getIntent'>;
  sender: Pick<MatrixSender, 'sendNotice'>;
  members: MembershipView;
  commands: Pick<CommandTable, 'prefix' | 'isCommand'>;
  personas: PersonaDirectory;
}

/** Wires a Dispatcher to the running bridge; register it as the last event handler. */
export function createDispatcher(host: DispatcherHost, responder: Responder, personaCommands?: PersonaCommandHook): Dispatcher {
  return new Dispatcher({
    config: host.config.dispatch,
    botUserId: host.botUserId,
    personas: host.personas,
    responder,
    members: host.members,
    isBotCommand: (body) => host.commands.isCommand(body),
    commandPrefix: host.commands.prefix,
    personaCommands,
    sendNotice: (userId, roomId, text) => host.sender.sendNotice(userId, roomId, text),
    fetchSender: async (roomId, eventId, asUserId) => {
      const client = host.bridge.getIntent(asUserId).matrixClient;
      const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`;
      const event = (await client.doRequest('GET', path)) as { sender?: unknown };
      return typeof event.sender === 'string' ? event.sender : null;
    },
  });
}
