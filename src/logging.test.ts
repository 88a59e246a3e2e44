import { escapeControlChars, plainFormat } from './logging.js';

// winston keeps the finished line under this symbol (triple-beam's MESSAGE).
const MESSAGE = Symbol.for('message');

function render(info: Record<string, unknown>): string {
  const out = plainFormat.transform({ level: 'error', message: '', ...info }, {});
  if (!out || typeof out === 'boolean') throw new Error('record dropped');
  return String((out as unknown as Record<symbol, unknown>)[MESSAGE]);
}

/** Lines that start a record: the timestamp in column 0. */
const records = (text: string) => text.split('\n').filter((line) => /^\d{4}-\d\d-\d\dT/.test(line));

describe('log format', () => {
  test('escapes newlines, carriage returns, escape sequences and line separators', () => {
    expect(escapeControlChars('a\nb\rc\td\x1b[2Je\x7f\u0085f\u2028g')).toBe('a\\nb\\rc\\td\\x1b[2Je\\x7f\\x85f\\u2028g');
    expect(escapeControlChars('plain text, ünïcödé and emoji 🙂')).toBe('plain text, ünïcödé and emoji 🙂');
  });

  test('a forged record in a message (e.g. a URL-decoded txnId) stays on its own line', () => {
    const forged = 'transaction abc\n2026-01-01T00:00:00.000Z error [PersonaBridge] FORGED';
    const text = render({ module: 'TransactionFilter', message: forged });
    expect(text.split('\n')).toHaveLength(1);
    expect(records(text)).toHaveLength(1);
    expect(text).toContain('abc\\n2026');
  });

  test('an error passed as metadata keeps its message, and its stack is indented below', () => {
    const err = new Error('boom\n2026-01-01T00:00:00.000Z error [X] FORGED');
    const text = render({ module: 'Dispatcher', message: 'answer failed', error: err });
    expect(records(text)).toHaveLength(1);
    expect(text.split('\n')[0]).toContain('"error":"boom\\n2026');
    expect(text.split('\n').slice(1).every((line) => line.startsWith('    '))).toBe(true);
    expect(text).toMatch(/\n {4}at /);
  });

  test('control characters in metadata and the module name are escaped too', () => {
    const text = render({ module: 'M\nX', message: 'hi', sample: 'x\ny' });
    expect(text.split('\n')).toHaveLength(1);
  });
});
