/**
 * Answers spoken by personas that have a voice: the text goes to the speech endpoint, comes
 * back as Ogg/Opus, and goes out as what Element records and plays as a voice message (MSC3245:
 * `m.audio` with `org.matrix.msc3245.voice`, duration and waveform in
 * `org.matrix.msc1767.audio`), the text kept with it as its body so it is read, remembered and
 * searched like any answer. In an encrypted room the audio is encrypted before upload.
 */
import { getLogger } from '../logging.js';
import type { Persona } from '../personas/Persona.js';
import { FaultEpisodes } from '../util/FaultEpisodes.js';
import { encryptAttachment } from './attachmentCrypto.js';
import { MediaError } from './MediaError.js';
import { CANNOT_SPEAK_NOW } from './messages.js';
import { voiceInfo } from './oggOpus.js';

const log = getLogger('VoiceReplies');

export interface VoiceRepliesDeps {
  /** speech.synthesis: the text in a voice, as Ogg/Opus. */
  speak(text: string, voice: string): Promise<Buffer>;
  /** speech.synthesis.max_characters: longer answers are written. */
  maxCharacters: number;
  /** Uploads to the media repository as the user; returns the mxc:// URI. */
  upload(data: Buffer, mime: string, filename: string, asUser: string): Promise<string>;
  /** Whether what is sent to the room is encrypted (then so must the attachment be). */
  roomEncrypted(roomId: string, asUser: string): Promise<boolean>;
}

export interface SpokenAnswer {
  /** The m.audio content, or null: send the answer as text. */
  content: Record<string, unknown> | null;
  /** To tell the room (the speech endpoint failing, once per episode), or null. */
  notice: string | null;
}

const FILENAME = 'voice-message.ogg';

export class VoiceReplies {
  private readonly faults = new FaultEpisodes();

  constructor(private readonly deps: VoiceRepliesDeps) {}

  /** Whether a persona speaks this answer: it has a voice, and its `voice_replies` says so. */
  speaksTo(persona: Persona, answeringVoice: boolean): boolean {
    if (!persona.voice) return false;
    const when = persona.voiceReplies ?? 'to_voice';
    return when === 'always' || (when === 'to_voice' && answeringVoice);
  }

  /**
   * The answer as a voice message whose relation and mentions are those of `textContent`
   * (the first part the text answer would have been). Falls back to text (content null) when
   * the text is too long to speak or the endpoint fails.
   */
  async speak(persona: Persona, roomId: string, text: string, textContent: Record<string, unknown>): Promise<SpokenAnswer> {
    if (!persona.voice) return { content: null, notice: null };
    if (text.length > this.deps.maxCharacters) {
      log.info(`${persona.name} writes its answer in ${roomId}: ${text.length} characters are more than speech.synthesis.max_characters`);
      return { content: null, notice: null };
    }
    try {
      const audio = await this.deps.speak(text, persona.voice);
      const { durationMs, waveform } = await voiceInfo(audio);
      const media = await this.uploadFor(persona.userId, roomId, audio);
      this.faults.recovered(roomId);
      const content: Record<string, unknown> = {
        msgtype: 'm.audio',
        // The text is the body (and the caption: filename differs), so it is read, remembered and searched.
        body: text,
        filename: FILENAME,
        info: { mimetype: 'audio/ogg', size: audio.length, duration: durationMs },
        'org.matrix.msc1767.text': text,
        'org.matrix.msc1767.audio': { duration: durationMs, waveform },
        'org.matrix.msc3245.voice': {},
        ...media,
      };
      for (const key of ['m.relates_to', 'm.mentions']) if (textContent[key] !== undefined) content[key] = textContent[key];
      return { content, notice: null };
    } catch (err) {
      if (!(err instanceof MediaError)) throw err;
      log.warn(`${persona.name} cannot speak in ${roomId}: ${err.message}`);
      return { content: null, notice: this.faults.fault(roomId) ? CANNOT_SPEAK_NOW(err.message) : null };
    }
  }

  private async uploadFor(userId: string, roomId: string, audio: Buffer): Promise<{ url: string } | { file: Record<string, unknown> }> {
    if (await this.deps.roomEncrypted(roomId, userId)) {
      const { ciphertext, file } = encryptAttachment(audio);
      const url = await this.deps.upload(ciphertext, 'application/octet-stream', FILENAME, userId);
      return { file: { ...file, url } };
    }
    return { url: await this.deps.upload(audio, 'audio/ogg', FILENAME, userId) };
  }
}
