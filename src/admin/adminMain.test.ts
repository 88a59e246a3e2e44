import { parseAdminArgs } from './adminMain.js';

describe('console/admin arguments', () => {
  test('flags anywhere, the rest is the command; --yes confirms and stays in it', () => {
    expect(parseAdminArgs(['admin', '-c', 'c.yaml', '-f', 'r.yaml', '--json', 'purge', 'memory', '--all', '--yes', '--out=/tmp'])).toEqual({
      mode: 'admin',
      configPath: 'c.yaml',
      json: true,
      yes: true,
      outDir: '/tmp',
      words: ['purge', 'memory', '--all', '--yes'],
    });
    expect(parseAdminArgs(['console', '--config=c.yaml'])).toEqual({ mode: 'console', configPath: 'c.yaml', json: false, yes: false, words: [] });
  });

  test.each([
    [['admin', 'persona', 'list'], /-c CONFIG is required/],
    [['admin', '-c', 'c.yaml'], /No command given/],
    [['console', '-c', 'c.yaml', 'persona', 'list'], /console takes no command/],
    [['admin', '-c'], /-c needs a value/],
  ])('%j is refused', (argv, message) => {
    const result = parseAdminArgs(argv);
    expect('error' in result && result.error).toMatch(message);
  });
});
