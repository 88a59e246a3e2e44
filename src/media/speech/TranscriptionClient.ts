/**
 * Speech to text through an OpenAI-compatible `/v1/audio/transcriptions` (multipart `file`,
 * `model`, `response_format=json`): whisper.cpp's server, speaches/faster-whisper, LocalAI,
 * OpenAI, or tools/speech (pocketsphinx) for the local stack.
 */
import { MediaError } from '../MediaError.js';
import { authHeaders, endpointError, endpointUrl, timedCall, type SpeechCallHook, type SpeechEndpointConfig } from './speechEndpoint.js';

export interface TranscriptionConfig extends SpeechEndpointConfig {
  /** ISO-639-1 hint; absent: the endpoint detects the language. */
  language?: string;
}

export class TranscriptionClient {
  constructor(
    private readonly config: TranscriptionConfig,
    private readonly onCall?: SpeechCallHook,
  ) {}

  /** The transcript ('' when nothing was said). */
  transcribe(audio: Buffer, mime: string, filename: string): Promise<string> {
    return timedCall('transcription', this.config, this.onCall, async (signal) => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(audio)], { type: mime }), filename);
      form.append('model', this.config.model);
      form.append('response_format', 'json');
      if (this.config.language) form.append('language', this.config.language);
      const res = await fetch(endpointUrl(this.config, 'audio/transcriptions'), { method: 'POST', body: form, headers: authHeaders(this.config), signal });
      if (!res.ok) throw await endpointError(res, 'transcription');
      const body = (await res.json().catch(() => null)) as { text?: unknown } | null;
      if (typeof body?.text !== 'string') throw new MediaError('speech_failed', 'the transcription endpoint answered without a transcript');
      return body.text.trim();
    });
  }
}
