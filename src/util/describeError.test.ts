import { clearSecrets, registerSecret } from '../redaction.js';
import { describeError } from './describeError.js';

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
