import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import { LogFile } from './logFile.js';

const format = winston.format.printf(({ message }) => String(message));

/** Waits until the file holds exactly this text (the stream writes asynchronously). */
async function contentOf(file: string, expected: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (text === expected) return text;
    await new Promise((r) => setTimeout(r, 10));
  }
  return existsSync(file) ? readFileSync(file, 'utf8') : '(missing)';
}

describe('log file', () => {
  test('writes, rotates on demand (old file kept with the time), reopens after an external move', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logs-'));
    const logger = winston.createLogger({ transports: [] });
    const file = new LogFile(logger, { path: join(dir, 'personas.log'), max_size: null, max_files: '3' }, format);
    logger.info('first');
    // Without %DATE% in the path the transport appends the date itself.
    const current = join(dir, `personas.log.${new Date().toISOString().slice(0, 10)}`);
    expect(await contentOf(current, 'first\n')).toBe('first\n');
    expect(file.currentFile).toBe(current);

    const rotated = await file.rotate(new Date('2026-11-29T10:00:00Z'));
    expect(rotated).toBe(`${current}.2026-11-29T10-00-00-000Z`);
    logger.info('second');
    expect(await contentOf(rotated!, 'first\n')).toBe('first\n');
    expect(await contentOf(current, 'second\n')).toBe('second\n');

    // What logrotate does: move the file away, then signal us.
    renameSync(current, join(dir, 'moved.log'));
    await file.reopen();
    logger.info('third');
    expect(await contentOf(join(dir, 'moved.log'), 'second\n')).toBe('second\n');
    expect(await contentOf(current, 'third\n')).toBe('third\n');
    await file.close();
    expect(readdirSync(dir).filter((f) => !f.startsWith('.')).length).toBe(3);
    expect(existsSync(join(dir, '.log-audit.json'))).toBe(true);
  });
});

describe('log file permissions', () => {
  test('a new log file is created 0600, and one left readable is tightened when opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logs-'));
    const logger = winston.createLogger({ transports: [] });
    const path = join(dir, 'personas.log');
    const current = `${path}.${new Date().toISOString().slice(0, 10)}`;
    writeFileSync(current, 'old\n', { mode: 0o644 });
    chmodSync(current, 0o644);
    const file = new LogFile(logger, { path, max_size: null, max_files: '3' }, format);
    logger.info('secretive');
    expect(await contentOf(current, 'old\nsecretive\n')).toBe('old\nsecretive\n');
    expect(statSync(current).mode & 0o777).toBe(0o600);
    const rotated = await file.rotate(new Date('2026-11-29T10:00:00Z'));
    logger.info('next');
    expect(await contentOf(current, 'next\n')).toBe('next\n');
    expect(statSync(current).mode & 0o777).toBe(0o600);
    expect(statSync(rotated!).mode & 0o777).toBe(0o600);
    await file.close();
  });
});
