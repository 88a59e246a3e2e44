import { collectStatus, duration, fullStatus, shortStatus, type StatusSources } from './statusCommand.js';

const sources = (problems: Record<string, string | null>): StatusSources => ({
  startedAt: 0,
  now: () => (2 * 3600 + 13 * 60 + 5) * 1000,
  personas: () => [
    { name: 'Ada', model: null },
    { name: 'Bob', model: 'cloud' },
    { name: 'Cy', model: null },
  ],
  route: (model) =>
    model === 'cloud'
      ? { backend: 'cloud', model: 'gpt-4o-mini', label: 'cloud/gpt-4o-mini', baseUrl: 'https://api.example/v1' }
      : { backend: 'default', model: 'llama3.1', label: 'llama3.1', baseUrl: 'http://127.0.0.1:11434/v1' },
  modelProblem: async (backend) => problems[backend] ?? null,
  encryption: true,
  queues: () => ({ answers: 2, llmActive: 1, llmWaiting: 1, roomsBusy: 0 }),
});

describe('!status', () => {
  test('each model the personas use, asked whether it answers; full for admins', async () => {
    const status = await collectStatus(sources({ cloud: 'HTTP 401: invalid api key' }));
    expect(fullStatus(status)).toBe(
      [
        'Up 2 h 13 min. 3 personas: Ada, Bob, Cy.',
        'Models:',
        '- llama3.1 at http://127.0.0.1:11434/v1 (Ada, Cy): answers',
        '- cloud/gpt-4o-mini at https://api.example/v1 (Bob): does NOT answer: HTTP 401: invalid api key',
        'Encryption: on.',
        'Queues: 2 answers queued or being written; 1 model request running, 1 waiting; 0 rooms handling events.',
      ].join('\n'),
    );
  });

  test('short for everyone else: no endpoints, no reasons', async () => {
    expect(shortStatus(await collectStatus(sources({ cloud: 'HTTP 401' })))).toBe('Up 2 h 13 min. 3 personas. 1 of 2 models do not answer right now. Encryption: on. 3 answers waiting.');
    expect(shortStatus(await collectStatus(sources({})))).toBe('Up 2 h 13 min. 3 personas. All 2 models answer. Encryption: on. 3 answers waiting.');
  });

  test('admins see each tool server and its state; everyone else does not', async () => {
    const src: StatusSources = {
      ...sources({}),
      toolServers: () => [
        { server: 'memory', kind: 'builtin', state: 'ready', tools: 2, restarts: 0, error: null, since: 0 },
        { server: 'weather', kind: 'stdio', state: 'starting', tools: 0, restarts: 3, error: 'the connection closed', since: (2 * 3600 + 12 * 60 + 55) * 1000 },
      ],
    };
    const status = await collectStatus(src);
    expect(fullStatus(status).split('\n').slice(4, 7)).toEqual(['Tool servers:', '- memory (built-in): ready, 2 tools', '- weather (stdio): starting for 10 s, 0 tools, restarted 3×: the connection closed']);
    expect(shortStatus(status)).not.toMatch(/weather|memory|tool/);
  });

  test('durations: the two largest units', () => {
    expect(duration(42_000)).toBe('42 s');
    expect(duration(302_000)).toBe('5 min 2 s');
    expect(duration((3 * 86400 + 4 * 3600 + 59) * 1000)).toBe('3 d 4 h');
    expect(duration(3600_000)).toBe('1 h');
  });
});
