import { LineReader } from './lineReader.js';

describe('LineReader', () => {
  const message = (id: number) => `${JSON.stringify({ jsonrpc: '2.0', id, result: {} })}\n`;

  test('messages split across chunks, several in one chunk, and a \\r\\n line end', () => {
    const reader = new LineReader(1024);
    const text = message(1) + message(2).replace('\n', '\r\n') + message(3);
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += 7) reader.append(bytes.subarray(i, i + 7));
    const ids = [];
    for (let m = reader.readMessage(); m; m = reader.readMessage()) ids.push((m as { id: number }).id);
    expect(ids).toEqual([1, 2, 3]);
  });

  test('a line longer than the limit is refused and forgotten', () => {
    const reader = new LineReader(10);
    expect(() => reader.append(Buffer.from('x'.repeat(11)))).toThrow(/exceeded maximum size of 10/);
    reader.append(Buffer.from(message(4).slice(0, 5)));
    expect(reader.readMessage()).toBeNull();
  });
});
