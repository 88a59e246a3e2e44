import { parseAccessLog, parseTransactionPushes, sentToRoom, serverSideSamples } from './accessLog.js';

const line = (at: string, user: string, took: string, request: string) =>
  `2026-12-07 ${at} - synapse.access.http.8008 - 643 - INFO - PUT-1 - 127.0.0.1 - 8008 - {${user}} Processed request: ${took} ru=(0.006sec, 0.001sec) db=(0.014sec/0.023sec/13) 59B 200 "${request} HTTP/1.1" "-" [0 dbevts]`;
const send = (room: string, txn: string) => `PUT /_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/${txn}`;
const sync = 'GET /_matrix/client/v3/sync?timeout=30000&since=s1';

test('a line gives who, what and when the request arrived and ended, on Synapse clock', () => {
  const [e] = parseAccessLog(line('18:45:26,339', '@ada:localhost', '0.187sec/0.007sec', send('!r:localhost', 't1?user_id=%40ada%3Alocalhost')));
  expect(e).toEqual({ userId: '@ada:localhost', method: 'PUT', path: '/_matrix/client/v3/rooms/!r%3Alocalhost/send/m.room.message/t1', status: 200, startMs: e!.endMs - 194, endMs: Date.UTC(2026, 11, 7, 18, 45, 26, 339) });
  expect(sentToRoom(e!)).toBe('!r:localhost');
  expect(parseAccessLog('2026-12-07 18:45:26,339 - synapse.handlers - INFO - something else\n')).toEqual([]);
});

test('each question is matched with the answer sent after it and the sync that delivered it; the floor likewise', () => {
  const log = [
    line('10:00:00,100', '@bob:l', '0.030sec/0.000sec', sync), // ended before anything: ignored
    line('10:00:00,140', '@alice:l', '0.040sec/0.000sec', send('!people:l', 'f0')), // 100 -> 140
    line('10:00:00,150', '@bob:l', '0.500sec/0.000sec', sync), // delivers the floor: 150 - 100 = 50
    line('10:00:00,200', '@alice:l', '0.030sec/0.000sec', send('!dm:l', 'q0')), // 170 -> 200
    line('10:00:00,250', '@ada:l', '0.040sec/0.000sec', send('!dm:l', 'a0')), // 210 -> 250: gap 10
    line('10:00:00,262', '@alice:l', '1.000sec/0.000sec', sync), // answer seen: 262 - 170 = 92
  ].join('\n');
  expect(serverSideSamples(parseAccessLog(log), { person: '@alice:l', other: '@bob:l', persona: '@ada:l', dm: '!dm:l', people: '!people:l' })).toEqual([
    { gap: 10, split: null, answer: 92, floor: 50 },
  ]);
});

test("the gap is split where Synapse's HTTP client pushed the transaction that carried the question", () => {
  const push = (at: string, txn: number) =>
    `2026-12-07 ${at} - synapse.http.client - 396 - DEBUG - as-sender-1 - Sending request PUT http://127.0.0.1:9000/_matrix/app/v1/transactions/${txn}`;
  const text = [
    push('10:00:00,120', 1), // before the question arrived: another transaction
    line('10:00:00,140', '@alice:l', '0.040sec/0.000sec', send('!people:l', 'f0')),
    line('10:00:00,150', '@bob:l', '0.500sec/0.000sec', sync),
    line('10:00:00,200', '@alice:l', '0.030sec/0.000sec', send('!dm:l', 'q0')), // 170 -> 200
    push('10:00:00,206', 2), // the question's: 6 ms after its send finished
    '2026-12-07 10:00:00,207 - synapse.http.client - 452 - INFO - as-sender-1 - Received response to PUT http://127.0.0.1:9000/_matrix/app/v1/transactions/2: 200',
    push('10:00:00,208', 3), // a later one
    line('10:00:00,250', '@ada:l', '0.040sec/0.000sec', send('!dm:l', 'a0')), // 210 -> 250
    line('10:00:00,262', '@alice:l', '1.000sec/0.000sec', sync),
  ].join('\n');
  expect(parseTransactionPushes(text)).toEqual([Date.UTC(2026, 11, 7, 10, 0, 0, 120), Date.UTC(2026, 11, 7, 10, 0, 0, 206), Date.UTC(2026, 11, 7, 10, 0, 0, 208)]);
  const [sample] = serverSideSamples(parseAccessLog(text), { person: '@alice:l', other: '@bob:l', persona: '@ada:l', dm: '!dm:l', people: '!people:l' }, parseTransactionPushes(text));
  expect(sample).toEqual({ gap: 10, split: { push: 6, rest: 4 }, answer: 92, floor: 50 });
});
