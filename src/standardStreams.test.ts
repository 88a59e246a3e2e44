import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { dropLinesToClosedOutput, type ClosedOutput } from './standardStreams.js';

const ROOT = resolve(import.meta.dirname, '..');

describe('dropLinesToClosedOutput', () => {
  test('reports each stream once, whatever errors follow', () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const closed: ClosedOutput[] = [];
    dropLinesToClosedOutput((c) => closed.push(c), { stdout, stderr });
    dropLinesToClosedOutput((c) => closed.push(c), { stdout, stderr });
    stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    stderr.emit('error', Object.assign(new Error('write EIO'), { code: 'EIO' }));
    expect(closed).toEqual([
      { stream: 'stdout', code: 'EPIPE' },
      { stream: 'stderr', code: 'EIO' },
    ]);
  });
});

describe('the logger when its reader closes the pipe (Ctrl-C killed the tee)', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'personas-epipe-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('keeps running: lines to the closed pipe are dropped, the log file gets them all', async () => {
    const logPath = join(dir, 'bridge-%DATE%.log');
    const script = join(dir, 'child.ts');
    // A process logging like the bridge: console and a log file, then it is told its stdout
    // reader is gone and goes on logging, as the bridge does while it shuts down.
    writeFileSync(
      script,
      `import { configureLogging, getLogger, logFile } from ${JSON.stringify(join(ROOT, 'src/logging.ts'))};
configureLogging({ level: 'info', json: false, file: { path: ${JSON.stringify(logPath)}, max_size: null, max_files: '14d' } });
const log = getLogger('child');
log.info('ready');
process.stdin.once('data', async () => {
  for (let i = 0; i < 40; i++) {
    log.info('line ' + i);
    process.stderr.write('stderr ' + i + '\\n');
    await new Promise((r) => setTimeout(r, 2));
  }
  log.info('shutdown complete');
  await logFile()?.close();
  process.exit(0);
});
`,
    );
    const child = spawn(process.execPath, ['--import', join(ROOT, 'tools/register-ts.mjs'), script], { stdio: ['pipe', 'pipe', 'pipe'] });
    await new Promise<void>((ready) => child.stdout.once('data', () => ready()));
    child.stdout.destroy();
    child.stderr.destroy();
    child.stdin.write('go\n');
    const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
    expect(code).toBe(0);
    const log = readdirSync(dir)
      .filter((f) => f.startsWith('bridge-'))
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('');
    expect(log).toContain('line 39');
    expect(log).toContain('shutdown complete');
    expect(log).toMatch(/standard output is closed \(EPIPE\)/);
  }, 120_000); // a child Node compiling TypeScript on a loaded machine
});
