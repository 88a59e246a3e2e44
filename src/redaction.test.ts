import { clearSecrets, isSecretKey, REDACTED, redactText, redactValue, registerSecret } from './redaction.js';

const AS_TOKEN = 'as-token-0123456789abcdef';

describe('redaction', () => {
  beforeEach(() => {
    clearSecrets();
    registerSecret(AS_TOKEN);
  });
  afterAll(() => clearSecrets());

  test('a registered secret is replaced wherever it occurs, also JSON- or URL-escaped', () => {
    expect(redactText(`token ${AS_TOKEN} and again ${AS_TOKEN}!`)).toBe(`token ${REDACTED} and again ${REDACTED}!`);
    registerSecret('sk-"quoted"\\key+/=');
    expect(redactText(JSON.stringify({ k: 'sk-"quoted"\\key+/=' }))).toBe(`{"k":"${REDACTED}"}`);
    expect(redactText(`?x=${encodeURIComponent('sk-"quoted"\\key+/=')}`)).toBe(`?x=${REDACTED}`);
  });

  test('short or empty values are not matched by value (they would blank ordinary words)', () => {
    registerSecret('none');
    registerSecret('');
    registerSecret(null);
    expect(redactText('none of this')).toBe('none of this');
  });

  test('credentials recognised by shape: Bearer headers, access_token in URLs, user:password@ in URLs', () => {
    expect(redactText('Authorization: Bearer unknown-token.value')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactText('GET https://hs/_matrix/client/v3/sync?since=s1&access_token=syt_abc&x=1')).toBe(`GET https://hs/_matrix/client/v3/sync?since=s1&access_token=${REDACTED}&x=1`);
    expect(redactText('https://user:hunter2@llm.example/v1 failed')).toBe(`https://${REDACTED}@llm.example/v1 failed`);
    // Matrix IDs and mxc URIs are not credentials.
    expect(redactText('mxc://localhost/abc by @alice:localhost at https://hs/_matrix/client/v3/profile/@a:b')).toBe(
      'mxc://localhost/abc by @alice:localhost at https://hs/_matrix/client/v3/profile/@a:b',
    );
  });

  test.each(['authorization', 'Authorization', 'as_token', 'hs_token', 'access_token', 'api_key', 'apiKey', 'x-api-key', 'password', 'client_secret', 'cookie'])(
    'a field named %s is a secret',
    (key) => expect(isSecretKey(key)).toBe(true),
  );
  test.each(['max_tokens', 'prompt_tokens', 'user_daily_tokens', 'tokenCount', 'body', 'statusCode'])('a field named %s is not', (key) =>
    expect(isSecretKey(key)).toBe(false),
  );

  test("a request library's response (toJSON, the request with its headers, a cycle) is reduced and redacted", () => {
    const response: Record<string, unknown> = {
      statusCode: 404,
      body: Buffer.from('{"errcode":"M_NOT_FOUND"}'),
      toJSON() {
        return { statusCode: 404, body: this.body, headers: { 'content-type': 'application/json' }, request: { uri: { href: `https://hs/media?access_token=${AS_TOKEN}` }, method: 'GET', headers: { Authorization: `Bearer ${AS_TOKEN}` } } };
      },
    };
    response.self = response;
    const out = JSON.stringify(redactValue({ error: response }));
    expect(out).not.toContain(AS_TOKEN);
    expect(out).toContain('"Authorization":"[redacted]"');
    expect(out).toContain('"statusCode":404');
    expect(out).toContain('"body":"<25 bytes>"');
  });

  test('errors keep name, message, stack and their own fields, redacted; cycles and depth are cut', () => {
    const err = Object.assign(new Error(`failed with ${AS_TOKEN}`), { headers: { authorization: 'x' }, statusCode: 500 });
    const out = redactValue(err) as Record<string, unknown>;
    expect(out).toMatchObject({ name: 'Error', message: `failed with ${REDACTED}`, statusCode: 500, headers: { authorization: REDACTED } });
    expect(String(out.stack)).not.toContain(AS_TOKEN);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.me = cyclic;
    expect(redactValue(cyclic)).toEqual({ a: 1, me: '[Circular]' });
    let deep: unknown = 'bottom';
    for (let i = 0; i < 50; i++) deep = { d: deep };
    expect(JSON.stringify(redactValue(deep))).toContain('[…]');
  });
});
