import { configuredSecrets } from './secrets.js';

test('every API key in the config is a secret, the default backend and named backends alike; empty keys are not', () => {
  const config = { llm: { api_key: 'sk-main-123456', model: 'm', max_tokens: 5, backends: { big: { api_key: 'sk-big-123456' }, local: { api_key: '' } } }, usage: { user_daily_tokens: 9 } };
  expect(configuredSecrets(config).sort()).toEqual(['sk-big-123456', 'sk-main-123456']);
});

test("MCP servers' header values and credential-named environment values are secrets; other environment values are not", () => {
  const config = {
    tools: {
      mcp_servers: [
        { name: 'w', command: 'x', env: { WEATHER_API_KEY: 'w-key-123456', LOG_LEVEL: 'debugging-lots' }, headers: {} },
        { name: 'h', url: 'http://h', env: {}, headers: { Authorization: 'Bearer abcdef123456', 'X-Tenant': 'tenant-123456' } },
      ],
    },
  };
  expect(configuredSecrets(config).sort()).toEqual(['Bearer abcdef123456', 'tenant-123456', 'w-key-123456']);
});
