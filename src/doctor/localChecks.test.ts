import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { validateConfig, type BridgeConfig } from '../config/Config.js';
import { loadMigrations, openDatabase } from '../store/Database.js';
import { checkDatabase, checkPersonaFiles } from './localChecks.js';

function configWith(dbPath: string, personasDir = '/nonexistent'): BridgeConfig {
  return validateConfig(
    {
      homeserver: { url: 'http://127.0.0.1:8008', domain: 'localhost' },
      admins: [],
      database: { path: dbPath },
      personas: { directory: personasDir },
      llm: { base_url: 'http://127.0.0.1:11434/v1', model: 'm' },
    },
    {},
  );
}

describe('database check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-db-'));

  test('a database that does not exist yet passes when its folder can be created', () => {
    const result = checkDatabase(configWith(join(dir, 'new', 'sub', 'personas.db')));
    expect(result).toMatchObject({ status: 'pass' });
    expect(result.detail).toContain('will be created on start');
  });

  test('a current database passes and says so', () => {
    const path = join(dir, 'current.db');
    openDatabase(path).close();
    expect(checkDatabase(configWith(path)).detail).toBe(`${path} at schema version ${loadMigrations().length} (current)`);
  });

  test('an older database passes: migrations run on start', () => {
    const path = join(dir, 'old.db');
    openDatabase(path, loadMigrations().slice(0, 1)).close();
    expect(checkDatabase(configWith(path))).toMatchObject({ status: 'pass', detail: expect.stringContaining('schema version 1; migrations to') });
  });

  test('a database from a newer release fails with what to do', () => {
    const path = join(dir, 'newer.db');
    openDatabase(path).close();
    const db = new BetterSqlite3(path);
    db.prepare('UPDATE schema_version SET version = 999').run();
    db.close();
    const result = checkDatabase(configWith(path));
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('schema version 999, newer than this release supports');
  });

  test('a file that is not SQLite fails', () => {
    const path = join(dir, 'garbage.db');
    writeFileSync(path, 'this is not a database '.repeat(100));
    expect(checkDatabase(configWith(path))).toMatchObject({ status: 'fail', detail: expect.stringContaining('cannot read') });
  });

  test('the check never creates or migrates anything', () => {
    const path = join(dir, 'untouched.db');
    openDatabase(path, loadMigrations().slice(0, 1)).close();
    checkDatabase(configWith(path));
    const db = new BetterSqlite3(path, { readonly: true });
    expect((db.prepare('SELECT version FROM schema_version').get() as { version: number }).version).toBe(1);
    db.close();
  });
});

describe('seed persona check', () => {
  test('valid files are listed by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'doctor-personas-'));
    writeFileSync(join(dir, 'ada.yaml'), 'name: Ada\nprompt: You are Ada.\n');
    expect(checkPersonaFiles(configWith(':memory:', dir))).toMatchObject({ status: 'pass', detail: `1 in ${dir}: Ada` });
  });

  test('invalid files are a warning naming the file and the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'doctor-personas-'));
    writeFileSync(join(dir, 'ada.yaml'), 'name: Ada\nprompt: You are Ada.\n');
    writeFileSync(join(dir, 'bad.yaml'), 'name: Bad\n');
    const result = checkPersonaFiles(configWith(':memory:', dir));
    expect(result.status).toBe('warn');
    expect(result.detail).toMatch(/1 valid \(Ada\); skipped at start: bad\.yaml: .*prompt/);
  });

  test('seed prompts over the budget the config allows: too long is listed as skipped, cut ones as the start-up log says them (one line per model, per file)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'doctor-personas-'));
    writeFileSync(join(dir, 'ada.yaml'), 'name: Ada\nprompt: You are Ada.\n');
    // memory.context_tokens 4096 (no window configured): a persona prompt may take 2048 tokens.
    writeFileSync(join(dir, 'long.yaml'), `name: Long\nprompt: "${'Count 1, 2, 3. '.repeat(500)}"\n`);
    writeFileSync(join(dir, 'medium.yaml'), `name: Medium\nprompt: "${'Count 1, 2, 3. '.repeat(250)}"\n`);
    writeFileSync(join(dir, 'other.yaml'), `name: Other\nprompt: "${'Count 4, 5, 6. '.repeat(300)}"\n`);
    const result = checkPersonaFiles(configWith(':memory:', dir));
    expect(result.status).toBe('warn');
    expect(result.detail).toMatch(/^3 valid \(Ada, Medium, Other\); skipped at start: long\.yaml: prompt: Refused: .*budget of 4096 tokens for m \(context window unknown/);
    // The start-up log's line: `persona file medium.yaml, other.yaml: prompts cut to fit m ...`.
    const cut = /; cut at start: (.*)$/.exec(result.detail)?.[1];
    expect(cut).toMatch(
      /^medium\.yaml, other\.yaml: prompts cut to fit m \(context window unknown\): Medium \(\d+ of 3749 characters\), Other \(\d+ of 4499 characters\); shorten them, or raise memory\.context_tokens if the model’s context window is larger\.$/,
    );
  });

  test('no folder means no seed personas, which is fine', () => {
    expect(checkPersonaFiles(configWith(':memory:', '/nonexistent/personas')).status).toBe('pass');
  });
});
