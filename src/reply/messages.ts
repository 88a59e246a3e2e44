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
