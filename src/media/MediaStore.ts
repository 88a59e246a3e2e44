import type BetterSqlite3 from 'better-sqlite3';
import type { Db } from '../store/Database.js';
import type { PreparedImage } from './imagePrep.js';

export interface StoredImage {
  eventId: string;
  mime: string;
  width: number;
  height: number;
  data: Buffer;
}

/**
 * Images prepared for vision models (see migrations/019-media.sql): a few per room, the most
 * recent, so the next prompts can show them without downloading and decoding them again.
 */
export class MediaStore {
  private readonly insert: BetterSqlite3.Statement;
  private readonly prune: BetterSqlite3.Statement;
  private readonly byEvent: BetterSqlite3.Statement;

  constructor(
    db: Db,
    /** How many images a room keeps (the newest). */
    private readonly keepPerRoom: number,
  ) {
    this.insert = db.prepare(
      `INSERT INTO media_images (event_id, room_id, mime, width, height, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (event_id) DO UPDATE SET mime = excluded.mime, width = excluded.width, height = excluded.height, data = excluded.data`,
    );
    this.prune = db.prepare(
      `DELETE FROM media_images WHERE room_id = ? AND event_id NOT IN
         (SELECT event_id FROM media_images WHERE room_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?)`,
    );
    this.byEvent = db.prepare('SELECT event_id, mime, width, height, data FROM media_images WHERE event_id = ?');
  }

  put(roomId: string, eventId: string, image: PreparedImage, now = Date.now()): void {
    this.insert.run(eventId, roomId, image.mime, image.width, image.height, image.data, now);
    this.prune.run(roomId, roomId, this.keepPerRoom);
  }

  get(eventId: string): StoredImage | undefined {
    const row = this.byEvent.get(eventId) as { event_id: string; mime: string; width: number; height: number; data: Buffer } | undefined;
    return row && { eventId: row.event_id, mime: row.mime, width: row.width, height: row.height, data: row.data };
  }
}
