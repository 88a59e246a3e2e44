/**
 * Keeps RoomSettingsStore current: settings and power-level state events are applied as they
 * arrive, and a room's state is read before its first message is dispatched, so the
 * dispatcher (a later step) always decides with the room's settings.
 */
import type { RoomEvent } from '../matrix/events.js';
import type { EventStep } from '../pipeline/EventStep.js';
import { ROOM_SETTINGS_EVENT } from './roomSettings.js';
import type { RoomSettingsStore } from './RoomSettingsStore.js';

export class RoomSettingsStep implements EventStep {
  readonly name = 'room-settings';

  constructor(private readonly store: RoomSettingsStore) {}

  async handle(event: RoomEvent): Promise<void> {
    const settings = event.state_key === '' && event.type === ROOM_SETTINGS_EVENT;
    const levels = event.state_key === '' && event.type === 'm.room.power_levels';
    if (!settings && !levels && event.type !== 'm.room.message') return;
    // Loaded first, so the pushed event (newer than what the load reads) is applied last.
    await this.store.ensureLoaded(event.room_id);
    if (settings) {
      await this.store.applySettingsEvent(event.room_id, event.event_id, event.content);
    } else if (levels) {
      this.store.applyPowerLevels(event.room_id, event.content);
    }
  }
}
