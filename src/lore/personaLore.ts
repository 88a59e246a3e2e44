import type { CharacterBook } from './book.js';
import { activateLore, type ActivatedLore } from './activate.js';

/** Where a persona's lorebooks come from. */
export interface LoreSources {
  /** The book of the persona's character card (kept from its import), if any. */
  cardBook(personaId: string): CharacterBook | undefined;
  /** Standalone books attached to the persona or to the room (`!lore attach`). */
  attachedBooks?(personaId: string, roomId: string): CharacterBook[];
}

/** What the conversation offers (PersonaResponder's LoreContext). */
export interface LoreRequest {
  persona: { userId: string; name: string };
  roomId: string;
  /** `Name: text`, newest first. */
  messages: string[];
  userName: string;
}

/**
 * The lorebook entries one answer's conversation calls up: the persona's card book first,
 * then the books attached to it and to the room, each book by its own rules (lore/activate.ts).
 */
export function personaLore(sources: LoreSources, random?: () => number): (request: LoreRequest) => ActivatedLore[] {
  return (request) => {
    const books = [sources.cardBook(request.persona.userId), ...(sources.attachedBooks?.(request.persona.userId, request.roomId) ?? [])];
    if (books.every((b) => !b?.entries?.length)) return [];
    return activateLore(books, { messages: request.messages, charName: request.persona.name, userName: request.userName, ...(random ? { random } : {}) });
  };
}
