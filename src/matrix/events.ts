/** The parts of a Matrix room event we rely on, as pushed by the homeserver. */
export interface RoomEvent {
  event_id: string;
  room_id: string;
  sender: string;
  type: string;
  origin_server_ts: number;
  state_key?: string;
  content: Record<string, unknown>;
  unsigned?: Record<string, unknown>;
  redacts?: string;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * Narrows an untrusted pushed event. Anything failing this is logged and skipped by the
 * caller: a malformed event must never take the bridge down.
 */
export function asRoomEvent(raw: unknown): RoomEvent | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const e = raw as Record<string, unknown>;
  if (!isString(e.event_id) || !isString(e.room_id) || !isString(e.sender) || !isString(e.type)) return null;
  if (typeof e.origin_server_ts !== 'number') return null;
  if (typeof e.content !== 'object' || e.content === null || Array.isArray(e.content)) return null;
  if (e.state_key !== undefined && typeof e.state_key !== 'string') return null;
  return e as unknown as RoomEvent;
}

export function messageBody(event: RoomEvent): string | null {
  if (event.type !== 'm.room.message') return null;
  const body = event.content.body;
  return typeof body === 'string' ? body : null;
}
