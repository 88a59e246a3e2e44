import { clearSecrets, registerSecret } from '../redaction.js';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, describeErrorWithStack } from './describeError.js';

describe('describeError', () => {
  afterAll(() => clearSecrets());

  test("matrix-bot-sdk's bare response (a non-JSON or binary body) is described by its status, never [object Object]", () => {
    const token = 'as-token-fedcba9876543210';
    registerSecret(token);
    const response = { statusCode: 404, body: Buffer.from('not json'), request: { headers: { Authorization: `Bearer ${token}` } } };
    expect(describeError(response)).toBe('HTTP 404');
    expect(describeError({ statusCode: 404, body: Buffer.from('{"errcode":"M_NOT_FOUND","error":"Not found"}') })).toBe('M_NOT_FOUND: Not found');
    expect(describeError({ errcode: 'M_FORBIDDEN', error: 'nope' })).toBe('M_FORBIDDEN: nope');
    expect(describeError({ body: { errcode: 'M_LIMIT_EXCEEDED' } })).toBe('M_LIMIT_EXCEEDED');
    expect(describeError(new Error(`boom ${token}`))).toBe('boom [redacted]');
    expect(describeError({ some: 'thing' })).toBe('unexpected error (details in the log)');
    expect(describeError(new (class Weird {})())).toBe('unexpected Weird (details in the log)');
    expect(describeError(undefined)).toBe('undefined');
    expect(describeError('')).toBe('unknown error');
  });
});

test('describeErrorWithStack: the stack of an Error (redacted), what describeError says of anything else', () => {
  const token = 'hs-token-0123456789abcdef';
  registerSecret(token);
  const stack = describeErrorWithStack(new Error(`failed with ${token}`));
  expect(stack).toMatch(/^Error: failed with \[redacted\]\n\s+at /);
  expect(describeErrorWithStack({ statusCode: 500 })).toBe('HTTP 500');
  expect(describeErrorWithStack({ some: 'thing' })).toBe('unexpected error (details in the log)');
  clearSecrets();
});

test('no code formats a caught error by hand ([object Object], undefined): describeError does it', () => {
  const root = join(import.meta.dirname, '..');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('describeError.ts'));
  expect(files.length).toBeGreaterThan(100);
  // String(err) of a plain object is "[object Object]"; (err as Error).message of one is undefined.
  const byHand = /String\((err|error|e|reason|cause)\)|\((err|error|e|cause) as (Error|NodeJS\.ErrnoException)\)\??\.message\b/;
  const offenders = files.flatMap((f) =>
    readFileSync(join(root, f), 'utf8')
      .split('\n')
      .map((line, i) => ({ where: `${f}:${i + 1}`, line: line.trim() }))
      .filter(({ line }) => byHand.test(line)),
  );
  expect(offenders).toEqual([]);
});
