/**
 * Builds the media side of personas from the config (app/compose.ts calls it): the reader
 * (downloads through the gateway, speech-to-text when configured), the image store, voice
 * replies when speech synthesis is configured.
 */
import type { BridgeConfig } from '../config/Config.js';
import type { EndToEndEncryption } from '../crypto/EndToEndEncryption.js';
import type { LlmRouter } from '../llm/LlmRouter.js';
import type { MatrixGateway } from '../matrix/MatrixGateway.js';
import type { MemoryStore } from '../memory/MemoryStore.js';
import type { Metrics } from '../metrics/Metrics.js';
import type { Db } from '../store/Database.js';
import { MediaReader } from './MediaReader.js';
import { MediaStore } from './MediaStore.js';
import { PersonaMedia } from './PersonaMedia.js';
import { SpeechClient } from './speech/SpeechClient.js';
import { TranscriptionClient } from './speech/TranscriptionClient.js';
import { VoiceReplies } from './VoiceReplies.js';

export interface MediaServices {
  config: Pick<BridgeConfig, 'media' | 'speech'>;
  db: Db;
  matrix: Pick<MatrixGateway, 'downloadMedia' | 'uploadContent'>;
  memory: MemoryStore;
  llm: Pick<LlmRouter, 'complete' | 'canSee'>;
  metrics: Metrics | null;
  encryption: Pick<EndToEndEncryption, 'isEncrypted'> | null;
}

/** Images kept per room: the ones a prompt shows, and as many again for threads and other scopes. */
const IMAGES_KEPT_PER_PROMPT_IMAGE = 2;

export function composeMedia({ config, db, matrix, memory, llm, metrics, encryption }: MediaServices): PersonaMedia {
  const { media, speech } = config;
  const onCall = metrics ? (call: Parameters<Metrics['speechCall']>[0]) => metrics.speechCall(call) : undefined;
  const transcription = speech.transcription ? new TranscriptionClient(speech.transcription, onCall) : null;
  const synthesis = speech.synthesis ? new SpeechClient(speech.synthesis, onCall) : null;
  const timeoutMs = media.timeout_seconds * 1000;
  const reader = new MediaReader({
    download: async (mxc, maxBytes) => {
      const { data } = await matrix.downloadMedia(mxc, maxBytes, timeoutMs);
      metrics?.mediaFetched(data.length);
      return data;
    },
    ...(transcription ? { transcribe: (audio: Buffer, mime: string, name: string) => transcription.transcribe(audio, mime, name) } : {}),
    limits: {
      maxDownloadBytes: Math.round(media.max_mb * 1e6),
      maxPixels: media.max_pixels,
      maxSide: media.image_max_side,
      maxBytes: media.image_max_kb * 1000,
      maxAudioMs: media.audio_max_seconds * 1000,
      fileMaxTokens: media.file_max_tokens,
    },
  });
  const voice = synthesis
    ? new VoiceReplies({
        speak: (text, name) => synthesis.speak(text, name),
        maxCharacters: speech.synthesis!.max_characters,
        upload: (data, mime, filename, asUser) => matrix.uploadContent(data, mime, filename, asUser),
        roomEncrypted: async (roomId, asUser) => (encryption ? encryption.isEncrypted(roomId, asUser) : false),
      })
    : undefined;
  return new PersonaMedia({
    reader,
    images: new MediaStore(db, Math.max(1, media.images_in_prompt * IMAGES_KEPT_PER_PROMPT_IMAGE)),
    memory,
    canSee: (model) => llm.canSee(model),
    llm,
    imagesInPrompt: media.images_in_prompt,
    ...(voice ? { voice } : {}),
  });
}
