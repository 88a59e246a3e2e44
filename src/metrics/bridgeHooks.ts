import type { LlmClientOptions } from '../llm/LlmClient.js';
import type { PersonaDirectory } from '../personas/Persona.js';
import type { PersonaResponderDeps } from '../reply/PersonaResponder.js';
import type { Metrics } from './Metrics.js';

/**
 * One backend's LLM failures by kind, its refused-as-too-long prompts and its tokens (answers
 * and summaries). Tokens per persona are counted from the answers instead (below).
 */
export function llmMetricsOptions(metrics: Metrics | null, backend: string): LlmClientOptions {
  if (!metrics) return {};
  return {
    onFailure: (error) => metrics.llmError(error.kind),
    onContextExceeded: (model) => metrics.llmContextExceeded(backend, model),
    onUsage: (usage, model) => metrics.backendUsage(backend, model, usage),
  };
}

/** Replies, their latency by stage, and the tokens they used, per persona. */
export function responderMetricsHooks(metrics: Metrics | null): Pick<PersonaResponderDeps, 'onReplied' | 'onModelAsked'> {
  if (!metrics) return {};
  return {
    onModelAsked: ({ timeline }) => metrics.answerTimeline(timeline.stages(), timeline.totalMs),
    onReplied: ({ persona, latencyMs, queueWaitMs, llmMs, sendMs, completion }) => {
      metrics.replied(persona.userId, { queueWaitMs, llmMs, sendMs, totalMs: latencyMs });
      if (completion.usage) metrics.llmUsage(persona.userId, completion.usage);
    },
  };
}

/** Rooms with at least one persona joined (a room shared by personas counts once). */
export function personaRoomCount(personas: PersonaDirectory & { rooms(userId: string): string[] }): number {
  const rooms = new Set<string>();
  for (const persona of personas.list()) for (const roomId of personas.rooms(persona.userId)) rooms.add(roomId);
  return rooms.size;
}
