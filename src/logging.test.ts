import { escapeControlChars, jsonFormat, plainFormat } from './logging.js';
import { clearSecrets, registerSecret } from './redaction.js';

// winston keeps the finished line under this symbol (triple-beam's MESSAGE).
const MESSAGE = Symbol.for('message');

function render(info: Record<string, unknown>, format = plainFormat): string {
  const out = format.transform({ level: 'error', message: '', ...info }, {});
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

describe('secrets in log records', () => {
  const AS_TOKEN = 'as_token_1f2e3d4c5b6a79881f2e3d4c';
  const API_KEY = 'sk-llm-key-0a1b2c3d4e5f';
  beforeAll(() => [AS_TOKEN, API_KEY].forEach(registerSecret));
  afterAll(() => clearSecrets());

  /** What matrix-bot-sdk rejects with when a media download answers 404 (issue 22 #1): the bare response. */
  const sdkResponse = () => ({
    statusCode: 404,
    body: Buffer.from('{"errcode":"M_NOT_FOUND"}'),
    toJSON: () => ({
      statusCode: 404,
      headers: { 'content-type': 'application/json' },
      request: { uri: { href: 'http://hs/_matrix/client/v1/media/download/localhost/missing?user_id=%40bot%3Alocalhost' }, method: 'GET', headers: { Authorization: `Bearer ${AS_TOKEN}` } },
    }),
  });

  test.each([
    ['plain', plainFormat],
    ['JSON', jsonFormat],
  ])('%s lines: a library error carrying the request, an error message, a field and plain text never show a secret', (_name, format) => {
    const lines = [
      render({ module: 'CommandRunner', message: 'command persona import from @a:b failed', error: sdkResponse() }, format),
      render({ module: 'X', message: `calling the model with ${API_KEY} failed`, error: new Error(`401 for key ${API_KEY}`) }, format),
      render({ module: 'X', message: 'config', hs_token: 'short', nested: { headers: { authorization: 'Bearer abc.def' } } }, format),
      render({ module: 'X', message: `GET /sync?access_token=syt_unknown_value&since=1` }, format),
    ];
    const text = lines.join('\n');
    expect(text).not.toContain(AS_TOKEN);
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('abc.def');
    expect(text).not.toContain('syt_unknown_value');
    expect(text).not.toContain('short');
    expect(lines[0]).toContain('404');
    expect(text).toContain('[redacted]');
  });
});

describe('one logging pipeline', () => {
  test("the client libraries' lines come out in our format: JSON when logging.json, one level lower, our module names", async () => {
    const { configureLogging } = await import('./logging.js');
    const { LogService } = await import('@vector-im/matrix-bot-sdk');
    const SECRET = 'hs_token_99887766554433221100';
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
      registerSecret(SECRET);
      LogService.warn('Appservice', 'transaction', { txnId: 't1' });
      // The library's own objects go through the same redaction as ours.
      LogService.warn('Appservice', 'request', { headers: { Authorization: `Bearer ${SECRET}` } }, `token=${SECRET}`);
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
    clearSecrets();
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.join('\n')).not.toContain(SECRET);
    expect(records).toEqual([
      expect.objectContaining({ level: 'info', module: 'sdk:Appservice', message: "transaction { txnId: 't1' }" }),
      expect.objectContaining({ level: 'info', module: 'sdk:Appservice', message: "request { headers: { Authorization: '[redacted]' } } token=[redacted]" }),
      expect.objectContaining({ level: 'warn', module: 'bridge:Intent', message: 'could not join M_FORBIDDEN' }),
    ]);
  });
});

describe('records below every transport level', () => {
  // Before 'extra log transports': a transport added there stays, at its own level (silly).
  test('are not formatted at all (winston would format them, then drop them)', async () => {
    const { configureLogging, getLogger } = await import('./logging.js');
    let reads = 0;
    const record = () => ({
      message: 'probe',
      get detail() {
        reads++;
        return 'read by the formatting';
      },
    });
    configureLogging({ level: 'info', json: false });
    getLogger('Probe').debug(record());
    expect(reads).toBe(0);
    // The same record at a level that is written (the line itself kept off the test's output).
    /* eslint-disable no-console -- keeping what winston's Console transport writes off the output */
    const out = (console as unknown as { _stdout?: { write: (text: string) => boolean } })._stdout;
    const original = { log: console.log, write: out?.write };
    console.log = () => undefined;
    if (out) out.write = () => true;
    try {
      configureLogging({ level: 'silly', json: false });
      getLogger('Probe').debug(record());
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      console.log = original.log;
      if (out && original.write) out.write = original.write;
      /* eslint-enable no-console */
      configureLogging({ level: 'warn', json: false });
    }
    expect(reads).toBeGreaterThan(0);
  });
});

describe('extra log transports', () => {
  test('get every record at their own level, redacted, and survive configureLogging', async () => {
    const { addLogTransport, configureLogging, getLogger } = await import('./logging.js');
    const { default: winston } = await import('winston');
    const { PassThrough } = await import('node:stream');
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString()));
    registerSecret('api-key-5566778899aabbcc');
    configureLogging({ level: 'error', json: false });
    addLogTransport(new winston.transports.Stream({ stream, level: 'silly' }));
    configureLogging({ level: 'error', json: false });
    getLogger('Probe').debug('calling with api-key-5566778899aabbcc');
    await new Promise((resolve) => setImmediate(resolve));
    clearSecrets();
    expect(text).toContain('debug [Probe] calling with [redacted]');
  });
});
