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

describe('one logging pipeline', () => {
  test("the client libraries' lines come out in our format: JSON when logging.json, one level lower, our module names", async () => {
    const { configureLogging } = await import('./logging.js');
    const { LogService } = await import('@vector-im/matrix-bot-sdk');
    const { Logger: BridgeLogger } = await import('matrix-appservice-bridge');
    const lines: string[] = [];
    // winston's Console transport writes to console._stdout when there is one, else console.log.
    /* eslint-disable no-console -- capturing what winston's Console transport writes */
    const out = (console as unknown as { _stdout?: { write: (text: string) => boolean } })._stdout;
    const original = { log: console.log, write: out?.write };
    console.log = (line: unknown) => void lines.push(String(line));
    if (out) out.write = (text: string) => lines.push(...text.trimEnd().split('\n')) > 0;
    try {
      configureLogging({ level: 'debug', json: true });
      LogService.warn('Appservice', 'transaction', { txnId: 't1' });
      LogService.error('MatrixHttpClient', 'expected probe failure');
      new BridgeLogger('Intent').error('could not join', new Error('M_FORBIDDEN'));
      // winston writes through its streams on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      console.log = original.log;
      if (out && original.write) out.write = original.write;
      /* eslint-enable no-console */
      configureLogging({ level: 'warn', json: false });
    }
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toEqual([
      expect.objectContaining({ level: 'info', module: 'sdk:Appservice', message: "transaction { txnId: 't1' }" }),
      expect.objectContaining({ level: 'warn', module: 'bridge:Intent', message: 'could not join M_FORBIDDEN' }),
    ]);
  });
});
