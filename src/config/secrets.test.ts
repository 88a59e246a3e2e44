import { configuredSecrets } from './secrets.js';

test('every API key in the config is a secret, the default backend and named backends alike; empty keys are not', () => {
  const config = { llm: { api_key: 'sk-main-123456', model: 'm', max_tokens: 5, backends: { big: { api_key: 'sk-big-123456' }, local: { api_key: '' } } }, usage: { user_daily_tokens: 9 } };
  expect(configuredSecrets(config).sort()).toEqual(['sk-big-123456', 'sk-main-123456']);
});
