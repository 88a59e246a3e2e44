import type { FromSchema } from 'json-schema-to-ts';
import { ConfigError } from '../config/ConfigError.js';
import type { configSchema } from '../config/schema.js';
import { allowEntryProblem } from './allowList.js';

// BridgeConfig['tools'], derived here from the schema: Config.ts validates with this module,
// so importing its type back would be an import cycle (as in llm/backends.ts).
type Validated = FromSchema<typeof configSchema, { keepDefaultedPropertiesOptional: false }>;
export type ToolsConfig = Validated['tools'];
export type McpServerConfig = ToolsConfig['mcp_servers'][number];
export type ImageGenerationConfig = NonNullable<Validated['images']['generation']>;

/** Server names of the built-in tools: no MCP server may take them. */
export const BUILTIN_SERVERS = ['memory', 'images'] as const;

/**
 * What the schema cannot say about `tools`: each server is either stdio (command) or HTTP
 * (url), names are unique and not a built-in's, stdio-only keys are not on an HTTP server,
 * and `tools.approval` keys are tool patterns.
 */
export function toolsConfigErrors(tools: ToolsConfig): ConfigError[] {
  const errors: ConfigError[] = [];
  const seen = new Set<string>();
  tools.mcp_servers.forEach((server, i) => {
    const at = `tools.mcp_servers[${i}]`;
    if (server.command && server.url) errors.push(new ConfigError(at, 'has both command (a stdio server) and url (an HTTP server); give one'));
    if (!server.command && !server.url) errors.push(new ConfigError(at, 'needs command (a stdio server started by the bridge) or url (a Streamable HTTP server)'));
    if (server.url && (server.args.length || Object.keys(server.env).length || server.cwd)) {
      errors.push(new ConfigError(at, 'args, env and cwd are for stdio servers (command), not for a url'));
    }
    if (server.command && Object.keys(server.headers).length) errors.push(new ConfigError(`${at}.headers`, 'are for HTTP servers (url), not for a command'));
    const name = server.name.toLowerCase();
    if ((BUILTIN_SERVERS as readonly string[]).includes(name)) errors.push(new ConfigError(`${at}.name`, `'${server.name}' is the name of built-in tools; choose another`));
    else if (seen.has(name)) errors.push(new ConfigError(`${at}.name`, `'${server.name}' is used by another server`));
    seen.add(name);
  });
  for (const rule of ['required', 'never'] as const) {
    for (const pattern of tools.approval[rule]) {
      const problem = allowEntryProblem(pattern);
      if (problem) errors.push(new ConfigError(`tools.approval.${rule}`, problem));
    }
  }
  for (const pattern of tools.approval.required.filter((p) => tools.approval.never.includes(p))) {
    errors.push(new ConfigError('tools.approval', `'${pattern}' is both required and never`));
  }
  return errors;
}

/** tools.approval as one map: pattern -> rule. */
export function approvalPatterns(tools: ToolsConfig): Record<string, 'required' | 'never'> {
  return {
    ...Object.fromEntries(tools.approval.never.map((p) => [p, 'never' as const])),
    ...Object.fromEntries(tools.approval.required.map((p) => [p, 'required' as const])),
  };
}
