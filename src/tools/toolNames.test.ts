import { allowEntryProblem, allows, mostSpecific, parseAllowList } from './allowList.js';
import { FUNCTION_NAME, ToolNameMap } from './toolNames.js';

describe('tool names', () => {
  test('server/tool maps to an OpenAI function name and back, whatever characters and length it has', () => {
    const tools = ['weather/get_forecast', 'files/read.file', 'files/read_file', `long/${'x'.repeat(100)}`, 'web/söme tool'];
    const map = new ToolNameMap(tools);
    const names = tools.map((t) => map.functionName(t)!);
    for (const name of names) expect(name).toMatch(FUNCTION_NAME);
    expect(new Set(names).size).toBe(tools.length);
    expect(names[0]).toBe('weather__get_forecast');
    for (const tool of tools) expect(map.qualified(map.functionName(tool)!)).toBe(tool);
    expect(map.qualified('weather__nothing')).toBeUndefined();
  });
});

describe('allow-lists', () => {
  test('server/* allows every tool of that server, server/tool exactly that one, nothing else', () => {
    const list = ['weather/*', 'files/read_file'];
    expect(allows(list, 'weather/get_forecast')).toBe(true);
    expect(allows(list, 'files/read_file')).toBe(true);
    expect(allows(list, 'files/write_file')).toBe(false);
    expect(allows(list, 'weatherx/get')).toBe(false);
    expect(allows([], 'weather/get_forecast')).toBe(false);
    expect(allows(undefined, 'weather/get_forecast')).toBe(false);
  });

  test('parsed from a command: none, commas or spaces; malformed entries refused', () => {
    expect(parseAllowList('none')).toEqual([]);
    expect(parseAllowList('weather/*, files/read_file memory/search')).toEqual(['weather/*', 'files/read_file', 'memory/search']);
    expect(() => parseAllowList('weather')).toThrow(/not server\/tool/);
    expect(() => parseAllowList('*/x')).toThrow();
    expect(allowEntryProblem('a/b*')).not.toBeNull();
  });

  test('the most specific approval rule wins', () => {
    const rules = { 'files/*': 'required', 'files/read_file': 'never' } as const;
    expect(mostSpecific(rules, 'files/read_file')).toBe('never');
    expect(mostSpecific(rules, 'files/delete')).toBe('required');
    expect(mostSpecific(rules, 'web/get')).toBeUndefined();
  });
});

describe('tools config', () => {
  test('each server is stdio or HTTP, named uniquely and not like a built-in; approval keys are patterns', async () => {
    const { toolsConfigErrors } = await import('./toolConfig.js');
    const server = (over: Record<string, unknown>) => ({ name: 's', args: [], env: {}, headers: {}, approval: 'never', ...over });
    const errors = toolsConfigErrors({
      mcp_servers: [server({ name: 'a', command: 'x', url: 'http://h' }), server({ name: 'b' }), server({ name: 'memory', command: 'x' }), server({ name: 'A', command: 'x' }), server({ name: 'c', url: 'http://h', args: ['1'] })],
      approval: { required: ['bad pattern', 'x/*'], never: ['x/*'] },
    } as never).map((e) => `${e.configPath}: ${e.problem}`);
    expect(errors).toEqual([
      'tools.mcp_servers[0]: has both command (a stdio server) and url (an HTTP server); give one',
      'tools.mcp_servers[1]: needs command (a stdio server started by the bridge) or url (a Streamable HTTP server)',
      "tools.mcp_servers[2].name: 'memory' is the name of built-in tools; choose another",
      "tools.mcp_servers[3].name: 'A' is used by another server",
      'tools.mcp_servers[4]: args, env and cwd are for stdio servers (command), not for a url',
      "tools.approval.required: 'bad pattern' is not server/tool or server/*",
      "tools.approval: 'x/*' is both required and never",
    ]);
  });
});
