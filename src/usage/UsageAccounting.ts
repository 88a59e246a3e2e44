import { usageDay, type UsageEntry, type UsageStore } from './UsageStore.js';

/** usage.* in the config: daily token caps, 0 for none. */
export interface UsageCaps {
  personaDailyTokens: number;
  userDailyTokens: number;
}

export type CapReached = { kind: 'persona' | 'user'; limit: number };

/** The user id usage is recorded under when no person started an answer (no one is charged). */
export const NOBODY = '';

/**
 * Records what answers cost and decides whether a persona may still answer today under the
 * optional daily caps: per persona (all rooms and users together) and per user (all personas
 * together; admins are not capped). A cap is checked before the model is asked, so the answer
 * that crosses it completes and the next one is refused.
 */
export class UsageAccounting {
  constructor(
    private readonly store: UsageStore,
    private readonly caps: UsageCaps,
    private readonly isAdmin: (userId: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cap an answer charged to `userId` (a person; null: nobody) by `personaId` would exceed, or null. */
  capReached(personaId: string, userId: string | null): CapReached | null {
    const day = usageDay(this.now());
    const { personaDailyTokens, userDailyTokens } = this.caps;
    if (personaDailyTokens > 0 && this.store.personaDay(personaId, day).tokens >= personaDailyTokens) return { kind: 'persona', limit: personaDailyTokens };
    if (userId !== null && userDailyTokens > 0 && !this.isAdmin(userId) && this.store.userDay(userId, day).tokens >= userDailyTokens) return { kind: 'user', limit: userDailyTokens };
    return null;
  }

  record(entry: UsageEntry): void {
    this.store.record(entry, this.now());
  }
}
