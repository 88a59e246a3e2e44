/**
 * Synapse's access log, read as Synapse's own clock of each request: who made it, what, and
 * when it started and ended. A line is written as the response is finished:
 *
 *   2026-12-07 18:45:26,339 - synapse.access.http.8008 - ... - {@ada:localhost} Processed request:
 *   0.187sec/0.007sec ru=(...) db=(...) 59B 200 "PUT /_matrix/client/v3/rooms/!r%3Alocalhost/send/m.room.message/t1 HTTP/1.1" ...
 *
 * The first figure is the time from the request's arrival to its handler finishing, the second
 * the time to send the response, so the request arrived at the line's time minus both. All to
 * the millisecond, Synapse's resolution.
 */

export interface AccessEntry {
  userId: string;
  method: string;
  /** The request path, query string left out. */
  path: string;
  status: number;
  /** When Synapse received the request and finished the response (ms, the log's clock). */
  startMs: number;
  endMs: number;
}

const LINE = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) .*?\{(@[^}]+)\} Processed request: ([\d.]+)sec\/(-?[\d.]+)sec .*? (\d{3}) "(\w+) ([^ ?"]+)/;

export function parseAccessLog(text: string): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const endMs = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!);
    const took = Math.round((Number(m[9]) + Math.max(0, Number(m[10]))) * 1000);
    out.push({ userId: m[8]!, method: m[12]!, path: m[13]!, status: Number(m[11]), startMs: endMs - took, endMs });
  }
  return out;
}

/** The room a message send is in (PUT …/rooms/{room}/send/m.room.message/{txn}), or null for other requests. */
export function sentToRoom(entry: AccessEntry): string | null {
  if (entry.method !== 'PUT') return null;
  const m = /\/rooms\/([^/]+)\/send\/m\.room\.message\//.exec(entry.path);
  return m ? decodeURIComponent(m[1]!) : null;
}

export const isSync = (entry: AccessEntry): boolean => entry.method === 'GET' && /\/sync$/.test(entry.path);

/**
 * When Synapse started pushing each transaction to an appservice (ms, the log's clock): its
 * HTTP client's "Sending request PUT …/transactions/N" line, written only with the logger
 * `synapse.http.client` at DEBUG (scripts/synapse.sh --debug-logger, as bench/spawn.ts starts it).
 * Retries of a transaction count again: each is a push.
 */
export function parseTransactionPushes(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const m = PUSH.exec(line);
    if (m) out.push(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!));
  }
  return out;
}

const PUSH = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) - synapse\.http\.client .*? Sending request PUT \S+\/_matrix\/app\/v1\/transactions\//;

/** Per sample of the live benchmark, on Synapse's clock (ms). */
export interface ServerSideSample {
  /** The person's send finished -> the persona's send started: pushing the transaction, the bridge, the model, the request on its way back. */
  gap: number;
  /**
   * The gap split at the moment Synapse started pushing the transaction that carried the
   * question (null without the push lines, see parseTransactionPushes): Synapse's part (its
   * send finished -> the push started; it can start a moment before the send's response is
   * out) and the rest (the push started -> the persona's send started: the transaction on its
   * way, the bridge, the model, the send on its way back).
   */
  split: { push: number; rest: number } | null;
  /** The person's send started -> the persona's answer left Synapse in the person's /sync. */
  answer: number;
  /** The same for a message between two people: one's send started -> it left in the other's /sync. */
  floor: number;
}

/**
 * The live benchmark's samples read from the access log: the person's sends to the persona's
 * DM in order, each matched with the persona's first send there that started after it ended
 * and the person's first /sync to end after that; the floor likewise from the sends between
 * the two people and the other's /sync. Samples that cannot be matched are left out. With
 * `pushes` (parseTransactionPushes) each gap is also split where Synapse pushed the question.
 */
export function serverSideSamples(
  entries: readonly AccessEntry[],
  who: { person: string; other: string; persona: string; dm: string; people: string },
  pushes: readonly number[] = [],
): ServerSideSample[] {
  const sends = (userId: string, roomId: string) => entries.filter((e) => e.userId === userId && sentToRoom(e) === roomId);
  const syncs = (userId: string) => entries.filter((e) => e.userId === userId && isSync(e));
  const firstAfter = (list: AccessEntry[], t: number, by: 'startMs' | 'endMs') => list.find((e) => e[by] >= t);
  const questions = sends(who.person, who.dm);
  const answers = sends(who.persona, who.dm);
  const floorSends = sends(who.person, who.people);
  const personSyncs = syncs(who.person);
  const otherSyncs = syncs(who.other);
  const out: ServerSideSample[] = [];
  questions.forEach((q, i) => {
    const answer = firstAfter(answers, q.endMs, 'startMs');
    const seen = answer && firstAfter(personSyncs, answer.endMs, 'endMs');
    const f = floorSends[i];
    const floorSeen = f && firstAfter(otherSyncs, f.endMs, 'endMs');
    if (!answer || !seen || !f || !floorSeen) return;
    // The first push after the question arrived and before the answer was sent: its transaction carried the question.
    const push = pushes.find((t) => t >= q.startMs && t <= answer.startMs);
    const split = push === undefined ? null : { push: push - q.endMs, rest: answer.startMs - push };
    out.push({ gap: answer.startMs - q.endMs, split, answer: seen.endMs - q.startMs, floor: floorSeen.endMs - f.startMs });
  });
  return out;
}
