import { isSecretKey } from '../redaction.js';

/**
 * Every credential in the config: string values under keys named like secrets (`api_key` of
 * `llm` and of each backend, and of any endpoint added later), so redaction (src/redaction.ts)
 * knows them by value from the start without a list to keep in step with the schema.
 */
export function configuredSecrets(config: unknown): string[] {
  const found: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    for (const [key, field] of Object.entries(value)) {
      if (typeof field === 'string' && isSecretKey(key)) found.push(field);
      else walk(field);
    }
  };
  walk(config);
  // MCP servers: every header value (Authorization and the like) and every environment value
  // whose name says it is a credential (WEATHER_API_KEY, GITHUB_TOKEN).
  const servers = (config as { tools?: { mcp_servers?: Array<{ env?: Record<string, string>; headers?: Record<string, string> }> } } | null)?.tools?.mcp_servers ?? [];
  for (const server of servers) {
    found.push(...Object.values(server.headers ?? {}));
    for (const [name, value] of Object.entries(server.env ?? {})) if (/key|token|secret|passw|auth|credential/i.test(name)) found.push(value);
  }
  return [...new Set(found.filter((s) => s !== ''))];
}
