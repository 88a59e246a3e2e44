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
  return found.filter((s) => s !== '');
}
