/**
 * Text to speech through an OpenAI-compatible `/v1/audio/speech` asking for Ogg/Opus
 * (`response_format: opus`), what Matrix voice messages are: Kokoro-FastAPI, LocalAI,
 * speaches, OpenAI, or tools/speech (espeak-ng) for the local stack.
 */
import { MediaError } from '../MediaError.js';
import { isOggOpus } from '../oggOpus.js';
import { authHeaders, endpointError, endpointUrl, timedCall, type SpeechCallHook, type SpeechEndpointConfig } from './speechEndpoint.js';

/** Largest answer accepted from the endpoint (a few minutes of speech are ~1 MB of Opus). */
const MAX_AUDIO_BYTES = 25 * 1024 * 1024;

export class SpeechClient {
  constructor(
    private readonly config: SpeechEndpointConfig,
    private readonly onCall?: SpeechCallHook,
  ) {}

  /** The text spoken in `voice`, as Ogg/Opus. */
  speak(text: string, voice: string): Promise<Buffer> {
    return timedCall('synthesis', this.config, this.onCall, async (signal) => {
      const res = await fetch(endpointUrl(this.config, 'audio/speech'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authHeaders(this.config) },
        body: JSON.stringify({ model: this.config.model, input: text, voice, response_format: 'opus' }),
        signal,
      });
      if (!res.ok) throw await endpointError(res, 'speech');
      const audio = Buffer.from(await res.arrayBuffer());
      if (audio.length > MAX_AUDIO_BYTES) throw new MediaError('speech_failed', 'the speech endpoint answered with more audio than a voice message holds');
      if (!isOggOpus(audio)) throw new MediaError('speech_failed', 'the speech endpoint did not answer with Ogg/Opus (does it support response_format "opus"?)');
      return audio;
    });
  }
}
