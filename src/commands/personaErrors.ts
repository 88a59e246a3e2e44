import type { PersonaError, PersonaRemedy } from '../personas/PersonaLifecycle.js';

/** What to do next, in chat syntax, for each remedy the persona lifecycle can name. */
const REMEDIES: Record<PersonaRemedy, (p: string, name: string) => string> = {
  list: (p) => `Send ${p}persona list to see them.`,
  'finish-spawn': (p, name) => `Send the same ${p}persona spawn again to complete it, or ${p}persona despawn ${name} to remove it.`,
  'finish-despawn': (p, name) => `Send ${p}persona despawn ${name} again to finish.`,
};

/** A lifecycle refusal as the admin reads it: what happened, then what to send next. */
export function renderPersonaError(err: PersonaError, prefix: string): string {
  return err.remedy ? `${err.message} ${REMEDIES[err.remedy.kind](prefix, err.remedy.name)}` : err.message;
}
