/**
 * The composition of end-to-end encryption (part of the composition root, compose.ts). On:
 * personas and the bot read and answer encrypted rooms, every send is encrypted where needed
 * and joins of encrypted rooms wait for the joining user's device. Off: such rooms are told
 * once that they cannot be read (EncryptionDisabledHandler, a pipeline step).
 */
import type { BridgeConfig } from '../config/Config.js';
import { EndToEndEncryption } from '../crypto/EndToEndEncryption.js';
import { SqliteNoticeLedger } from '../crypto/NoticeLedger.js';
import { UndecryptableNotices } from '../crypto/UndecryptableNotices.js';
import type { MatrixGateway } from '../matrix/MatrixGateway.js';
import type { RoomMembers } from '../matrix/RoomMembers.js';
import type { Metrics } from '../metrics/Metrics.js';
import type { PersonaStore } from '../personas/PersonaStore.js';
import type { RoomVoice } from '../rooms/RoomVoice.js';
import type { Db } from '../store/Database.js';

export interface EncryptionParts {
  config: BridgeConfig;
  db: Db;
  botUserId: string;
  isOurUser(userId: string): boolean;
  matrix: MatrixGateway;
  members: RoomMembers;
  voice: RoomVoice;
  personas: PersonaStore;
  metrics: Metrics | null;
  /** Asks the homeserver to ping us (it then retries what it holds back). */
  pingAppservice(): Promise<void>;
}

export function composeEncryption(parts: EncryptionParts): { undecryptable: UndecryptableNotices; encryption: EndToEndEncryption | null } {
  const { config, matrix, members, voice, personas, metrics } = parts;
  const undecryptable = new UndecryptableNotices({
    ledger: new SqliteNoticeLedger(parts.db),
    speakerFor: async (roomId) => (await voice.voiceFor(roomId))?.userId ?? null,
    sendNotice: (userId, roomId, text) => matrix.sendNotice(userId, roomId, text),
    onUndecryptable: (reason) => metrics?.undecryptableEvent(reason),
    onNoticeSent: (reason) => metrics?.undecryptableNotice(reason),
  });
  if (!config.encryption.enabled) return { undecryptable, encryption: null };
  const encryption = new EndToEndEncryption({
    db: parts.db,
    storePath: config.encryption.store_path,
    http: { request: (userId, deviceId, method, path, body) => matrix.deviceRequest(userId, deviceId, method, path, body) },
    isOurUser: parts.isOurUser,
    ourUsersInRoom: (roomId) => voice.ourUsersIn(roomId),
    joinedMembers: async (roomId) => {
      await members.ensureLoaded(roomId);
      return members.joined(roomId);
    },
    usersAtStart: () => [parts.botUserId, ...personas.list().map((p) => p.userId)],
    roomsOf: (userId) => personas.rooms(userId),
    notices: undecryptable,
    ping: parts.pingAppservice,
  });
  matrix.setEncryptor(encryption.encrypt);
  matrix.setJoinGate(encryption.beforeJoin);
  return { undecryptable, encryption };
}
