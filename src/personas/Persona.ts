/**
 * A persona as the rest of the bridge sees it. Owned by the persona store (issue: lifecycle);
 * read by the dispatcher (who is a persona, how is it named) and the reply pipeline (prompt,
 * model, temperature).
 */
export interface Persona {
  /** Name as given at spawn, used as the displayname, e.g. "Ada". Unique case-insensitively. */
  name: string;
  /** `@<persona_prefix><name lowercased>:<domain>` */
  userId: string;
  /** The system prompt. */
  prompt: string;
  /** Free-form traits (e.g. Big Five scores), given to the model with the prompt. */
  traits: Record<string, unknown>;
  /** Overrides llm.model when set. */
  model: string | null;
  /** Overrides llm.temperature when set. */
  temperature: number | null;
  /** mxc:// URI of the avatar, when set. */
  avatarUrl: string | null;
  /** ms since epoch. */
  createdAt: number;
  /** MXID of the admin who spawned it, or `file:<name>.yaml` for seed personas. */
  creator: string;
  /** Live (streamed) answers: null or absent follows replies.live. */
  live?: boolean | null;
  /** Tools it may call (`server/tool`, `server/*`); absent or empty: none. */
  tools?: string[];
  /** The voice its answers are spoken in (speech.synthesis); null or absent: it writes only. */
  voice?: string | null;
  /** When it speaks, having a voice: null or absent is `to_voice` (voice answered with voice). */
  voiceReplies?: VoiceReplies | null;
}

export const VOICE_REPLIES = ['to_voice', 'always', 'never'] as const;
export type VoiceReplies = (typeof VOICE_REPLIES)[number];

/** Read access to the live personas, kept in memory: consulted for every pushed event. */
export interface PersonaDirectory {
  byUserId(userId: string): Persona | undefined;
  list(): Persona[];
}
