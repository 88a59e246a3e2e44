// What people read when a persona cannot answer: one short notice per failed answer, saying
// what went wrong and with which model, so the room (and its admin) know where to look.
import { LlmError } from '../llm/LlmClient.js';
import { DEFAULT_BACKEND } from '../llm/backends.js';

/** `model` on the default backend, `backend/model` on a named one; null when unknown. */
function failingModel(err: LlmError): string | null {
  if (!err.model) return null;
  return err.backend && err.backend !== DEFAULT_BACKEND ? `${err.backend}/${err.model}` : err.model;
}

/** The one notice a failed answer produces, by failure kind. */
export function failureNotice(err: unknown): string {
  if (!(err instanceof LlmError)) return "I can't think right now — the model endpoint is unavailable.";
  const model = failingModel(err);
  const details = (...parts: Array<string | null | undefined>): string => {
    const shown = parts.filter(Boolean);
    return shown.length ? ` (${shown.join(', ')})` : '';
  };
  const ofModel = model ? `model ${model}` : null;
  switch (err.kind) {
    case 'rejected':
      return `I can't think right now — the model endpoint refused the request${details(err.status ? `HTTP ${err.status}` : null, ofModel)}.`;
    case 'empty':
      return `I can't think right now — the model gave me nothing to say${details(ofModel)}.`;
    case 'context':
      return `I can't think right now — our conversation no longer fits the model's context${details(ofModel)}; I will keep less of it next time.`;
    case 'malformed':
      return `I can't think right now — the model endpoint sent an answer I could not read${details(ofModel)}.`;
    case 'timeout':
      return `I can't think right now — the model took too long to answer${details(ofModel)}.`;
    // Cancelled answers (shutdown) send no notice; should one ever be asked for, this is it.
    case 'cancelled':
    case 'unavailable':
      return `I can't think right now — the model endpoint is unavailable${details(ofModel)}.`;
  }
}

/** The notice for an answer refused because a daily token cap was reached. */
export function capNotice(kind: 'persona' | 'user', limit: number, commandPrefix: string): string {
  const tomorrow = 'It resets at midnight UTC.';
  return kind === 'persona'
    ? `I have used up my daily allowance of ${limit.toLocaleString('en')} tokens, so I can't answer until tomorrow. ${tomorrow}`
    : `You have reached your daily allowance of ${limit.toLocaleString('en')} tokens with the personas here, so I can't answer you until tomorrow. ${tomorrow} Send ${commandPrefix}usage to see your usage.`;
}

/** Sent once per room while the database refuses writes (disk full, read-only). */
export const MEMORY_WRITE_FAILED_NOTICE = "I can't save anything right now (the server's disk may be full); I'll keep answering but may forget this.";
/**
 * Sent once per room when incoming messages cannot be recorded (disk full): the homeserver
 * keeps them and delivers them again, so they are answered once space is back.
 */
export const MESSAGES_REFUSED_NOTICE = "I can't save anything right now (the server's disk may be full), so I can't take messages in; I'll answer them once there is space again.";

/**
 * The line a persona's first answer to a person in a direct chat ends with (disclosure:
 * first_contact; EU AI Act Art. 50): that it is an AI character, and who runs it.
 */
export function disclosureNote(personaName: string, server: string): string {
  return `ℹ️ ${personaName} is an AI character run by ${server}: its answers are written by a language model.`;
}

/**
 * Ends an answer the bridge cut because the model wrote more than llm.max_answer_chars: the
 * room sees why it stops mid-way (shown, not remembered as something the persona said).
 */
export function answerCutNotice(maxChars: number): string {
  return `✂️ This answer was cut at ${maxChars.toLocaleString('en')} characters, the most this server sends in one answer.`;
}

/** How an answer the model's context cut short ends: what it wrote, and this. */
export const CUT_BY_CONTEXT_MARK = ' … (cut short: the model had no room left to write more)';
