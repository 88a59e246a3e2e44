import { greet } from './cardPrompt.js';
import type { PersonaCardStore } from './PersonaCardStore.js';

export interface FirstMessageDeps {
  cards: PersonaCardStore;
  /** How the greeted person is named in the greeting (`{{user}}`). */
  displayName(roomId: string, userId: string): Promise<string | null>;
  send(personaId: string, roomId: string, text: string): Promise<void>;
  now?: () => number;
}

/**
 * A persona imported from a card opens each new direct chat with the card's first message,
 * `{{user}}` filled in with the person's name: once per room (persisted, so a replayed
 * invite or a restart does not greet twice). Personas without one say nothing until spoken to.
 */
export class FirstMessages {
  constructor(private readonly deps: FirstMessageDeps) {}

  async greet(personaId: string, roomId: string, inviter: string): Promise<boolean> {
    const { firstMessage } = this.deps.cards.get(personaId);
    if (!firstMessage) return false;
    if (!this.deps.cards.claimGreeting(personaId, roomId, (this.deps.now ?? Date.now)())) return false;
    const name = (await this.deps.displayName(roomId, inviter).catch(() => null)) ?? inviter.replace(/^@/, '').replace(/:.*$/, '');
    await this.deps.send(personaId, roomId, greet(firstMessage, name));
    return true;
  }
}
