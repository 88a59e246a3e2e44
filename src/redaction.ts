/**
 * Secrets never reach a log line or a chat message. Two nets, because neither alone is enough:
 *
 * - by value: the secrets known at start (the appservice and homeserver tokens, every configured
 *   API key) and any a feature registers later (`registerSecret`) are replaced wherever they
 *   appear, in whatever shape a library wrapped them (a request error that carries the whole
 *   request, a URL, a stack trace);
 * - by shape: credentials whose value we never saw — an `Authorization: Bearer …` header, a
 *   `?access_token=` in a URL, `user:password@` in a URL, and any field named like a secret
 *   (`authorization`, `*_token`, `api_key`, `password`, …) in logged objects.
 */
import { escapeRegExp } from './util/escapeRegExp.js';

export const REDACTED = '[redacted]';

/**
 * Shorter values are not matched by value (a key like `none` or `local` would blank every word
 * it occurs in); fields named like secrets are still redacted whatever their length.
 */
export const MIN_SECRET_LENGTH = 8;

const secrets = new Set<string>();
let byValue: RegExp | null = null;

/** Field names whose values are credentials, wherever they occur in a logged object. */
const SECRET_KEY = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key)$|(token|secret|password|passwd|passphrase|api[-_]?key|private[-_]?key)$/i;

/** Credentials recognisable by their shape, whether or not we know their value. */
const BY_SHAPE: [RegExp, string][] = [
  [/\b(Bearer)(\s+)[A-Za-z0-9._~+/=-]{4,}/gi, `$1$2${REDACTED}`],
  [/([?&;](?:access_token|api_key|apikey|token|key|sig)=)[^&\s"'<>#]+/gi, `$1${REDACTED}`],
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@:"'<>]+:[^\s/@"'<>]+@/gi, `$1${REDACTED}@`],
];

/**
 * Adds a secret to redact from now on (tokens, API keys, a password a feature receives).
 * Empty and short values are ignored (see MIN_SECRET_LENGTH).
 */
export function registerSecret(value: string | null | undefined): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || secrets.has(value)) return;
  secrets.add(value);
  // Also as it looks inside a JSON string (a secret with a quote or backslash in it).
  const forms = new Set<string>();
  for (const s of secrets) {
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(encodeURIComponent(s));
  }
  // Longest first, so a secret containing another is replaced whole.
  byValue = new RegExp(
    [...forms]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegExp)
      .join('|'),
    'g',
  );
}

/** Forgets every registered secret (tests). */
export function clearSecrets(): void {
  secrets.clear();
  byValue = null;
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** The text with every known secret and every credential-shaped part replaced by `[redacted]`. */
export function redactText(text: string): string {
  let out = byValue ? text.replace(byValue, REDACTED) : text;
  for (const [pattern, replacement] of BY_SHAPE) out = out.replace(pattern, replacement);
  return out;
}

const MAX_DEPTH = 8;

/**
 * A copy of a value to be logged, safe to serialise: strings redacted, fields named like
 * secrets replaced, errors reduced to name, message, stack and their own fields, objects that
 * serialise themselves (`toJSON`, as a request library's response does) read the way
 * JSON.stringify would, binary data summarised, cycles and excessive depth cut.
 */
export function redactValue(value: unknown): unknown {
  return walk(value, 0, new WeakSet());
}

function walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date) return value;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `<${value.byteLength} bytes>`;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[…]';
  seen.add(value);
  if (value instanceof Error) {
    const fields = walkFields(value, depth, seen);
    return { name: value.name, message: redactText(value.message), ...(value.stack ? { stack: redactText(value.stack) } : {}), ...fields };
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    let json: unknown;
    try {
      json = toJSON.call(value);
    } catch {
      return '[unserialisable]';
    }
    return json === value ? walkFields(value, depth, seen) : walk(json, depth + 1, seen);
  }
  if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1, seen));
  if (value instanceof Map) return walk(Object.fromEntries(value), depth + 1, seen);
  if (value instanceof Set) return walk([...value], depth + 1, seen);
  return walkFields(value, depth, seen);
}

function walkFields(value: object, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    out[key] = isSecretKey(key) && field !== null && field !== undefined && field !== '' ? REDACTED : walk(field, depth + 1, seen);
  }
  return out;
}
