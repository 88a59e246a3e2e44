/**
 * Text as the homeserver can take it: valid UTF-16, every lone surrogate replaced by U+FFFD
 * (String.prototype.toWellFormed). A model can write a lone surrogate (half of an emoji cut
 * by a tokenizer, or on purpose); JSON carries it as `\ud800`, and Synapse refuses the whole
 * event with a 500 (`UnicodeEncodeError … surrogates not allowed`), losing the answer.
 */

/** `value` with every string in it (keys too) well-formed; `value` itself when nothing needed it. */
export function wellFormed<T>(value: T): T {
  return fix(value) as T;
}

function fix(value: unknown): unknown {
  if (typeof value === 'string') return value.isWellFormed() ? value : value.toWellFormed();
  if (Array.isArray(value)) {
    const items = value.map(fix);
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  if (value === null || typeof value !== 'object') return value;
  let changed = false;
  const entries = Object.entries(value).map(([key, inner]) => {
    const fixedKey = fix(key) as string;
    const fixedValue = fix(inner);
    if (fixedKey !== key || fixedValue !== inner) changed = true;
    return [fixedKey, fixedValue] as const;
  });
  return changed ? Object.fromEntries(entries) : value;
}
