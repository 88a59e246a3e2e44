import type { ErrorObject } from 'ajv';

/**
 * The key path an ajv error is about, written the way an admin reads YAML:
 * `/llm/timeout_seconds` -> `llm.timeout_seconds`, `/admins/0` -> `admins[0]`; for unknown
 * and missing keys, the key itself is appended.
 */
export function ajvKeyPath(error: ErrorObject): string {
  const parts = error.instancePath.split('/').slice(1);
  if (error.keyword === 'additionalProperties') parts.push(String(error.params.additionalProperty));
  if (error.keyword === 'required') parts.push(String(error.params.missingProperty));
  let path = '';
  for (const part of parts) path += /^\d+$/.test(part) ? `[${part}]` : path ? `.${part}` : part;
  return path || '(root)';
}

/** Plain words for the common ajv keywords; validators special-case the rest. */
export function describeAjvError(error: ErrorObject): string {
  switch (error.keyword) {
    case 'additionalProperties':
      return 'unknown key';
    case 'required':
      return 'is required but missing';
    case 'type':
      return `must be of type ${String(error.params.type)}`;
    case 'enum':
      return `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}`;
    case 'pattern':
      return `has an invalid format (expected to match ${String(error.params.pattern)})`;
    default:
      return error.message ?? 'is invalid';
  }
}
