import { validateConfig } from '../config/Config.js';
import { checkEncryptionHomeserver, checkEncryptionRegistration } from './encryptionChecks.js';

const config = validateConfig({ homeserver: { url: 'http://hs:8008', domain: 'localhost' }, admins: [], llm: { base_url: 'http://llm/v1', model: 'm' }, encryption: { enabled: true } }, {});
const answering = (status: number, body: unknown): typeof fetch => (async () => new Response(JSON.stringify(body), { status })) as typeof fetch;

describe('encryption checks', () => {
  it('needs receive_ephemeral and org.matrix.msc3202 in the registration', () => {
    expect(checkEncryptionRegistration({ receive_ephemeral: true, 'org.matrix.msc3202': true }).status).toBe('pass');
    const without = checkEncryptionRegistration({ receive_ephemeral: true });
    expect(without.status).toBe('fail');
    expect(without.detail).toMatch(/org\.matrix\.msc3202/);
    expect(checkEncryptionRegistration({ 'org.matrix.msc3202': true }).detail).toMatch(/receive_ephemeral/);
  });

  it('passes device masquerading when the homeserver refuses the made-up device, fails when it ignores it', async () => {
    const refused = await checkEncryptionHomeserver(config, 'tok', { timeoutMs: 1000, fetch: answering(400, { errcode: 'M_UNKNOWN_DEVICE', error: 'no such device' }) });
    expect(refused.map((r) => [r.name, r.status])).toEqual([
      ['encryption devices', 'pass'],
      ['encryption transactions', 'warn'],
    ]);
    const ignored = await checkEncryptionHomeserver(config, 'tok', { timeoutMs: 1000, fetch: answering(200, { user_id: '@personas:localhost' }) });
    expect(ignored[0]).toMatchObject({ name: 'encryption devices', status: 'fail' });
  });
});
