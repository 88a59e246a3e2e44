import { Ajv, type ValidateFunction } from 'ajv';
import { ajvKeyPath, describeAjvError } from '../config/ajvErrors.js';
import { refuseDeepJson } from '../portability/boundedJson.js';
import { formatBytes, ImportError, MAX_CARD_FIELD_CHARS, MAX_IMPORT_BYTES } from '../portability/ImportError.js';
import type { CharacterBook } from './book.js';
import { looksLikeWorldInfo, worldInfoToBook } from './worldInfo.js';
import { describeError } from '../util/describeError.js';

/** A lorebook read from a file, with where it came from. */
export interface ParsedBook {
  book: CharacterBook;
  /** `lorebook_v3`, `SillyTavern World Info`, `character card (chara_card_v2)`, ... */
  format: string;
}

const text = { type: 'string', maxLength: MAX_CARD_FIELD_CHARS } as const;
const bookSchema = {
  type: 'object',
  required: ['entries'],
  properties: {
    name: text,
    entries: {
      type: 'array',
      maxItems: 10_000,
      items: { type: 'object', required: ['keys', 'content'], properties: { keys: { type: 'array', items: text, maxItems: 1000 }, content: text } },
    },
  },
} as const;
const validateBook: ValidateFunction<CharacterBook> = new Ajv({ allErrors: true, strict: true }).compile(bookSchema);

/**
 * Reads a standalone lorebook: `{"spec": "lorebook_v3", "data": {...}}` (the V3 spec's
 * format), a SillyTavern World Info export (`{"entries": {"0": {...}}}`), a bare
 * `character_book`, or the book inside a character card. `fallbackName` (the file's name)
 * names a book that has none. Throws an ImportError that says what is wrong.
 */
export function parseBookFile(data: Buffer, fallbackName: string): ParsedBook {
  if (data.length === 0) throw new ImportError('empty', `${fallbackName} is empty.`);
  if (data.length > MAX_IMPORT_BYTES) throw new ImportError('too_large', `${fallbackName} is ${formatBytes(data.length)}; imports are limited to ${formatBytes(MAX_IMPORT_BYTES)}.`);
  const text = data.toString('utf8').replace(/^\uFEFF/, '');
  refuseDeepJson(text, fallbackName);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ImportError('bad_json', `${fallbackName} is not valid JSON: ${describeError(err)}.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ImportError('unknown_format', `${fallbackName} holds JSON ${Array.isArray(value) ? 'array' : typeof value}, not a lorebook.`);
  }
  const record = value as Record<string, unknown>;
  const name = fallbackName.replace(/\.(json|lorebook)$/i, '');
  const { book, format } = pick(record, name);
  if (!validateBook(book)) {
    const problems = (validateBook.errors ?? []).slice(0, 5).map((e) => `${ajvKeyPath(e)} ${describeAjvError(e)}`).join('; ');
    throw new ImportError('invalid', `Invalid lorebook (${format}): ${problems}.`);
  }
  const named = typeof book.name === 'string' && book.name.trim() ? book : { ...book, name };
  return { book: named, format };
}

function pick(record: Record<string, unknown>, name: string): { book: CharacterBook; format: string } {
  const spec = record.spec;
  if (spec === 'lorebook_v3') return { book: objectOf(record.data, 'data') as CharacterBook, format: 'lorebook_v3' };
  if (spec === 'chara_card_v2' || spec === 'chara_card_v3') {
    const data = objectOf(record.data, 'data');
    if (!data.character_book) throw new ImportError('invalid', `This character card (${spec}) has no lorebook (character_book) in it.`);
    const book = objectOf(data.character_book, 'data.character_book') as CharacterBook;
    return { book: typeof data.name === 'string' && !book.name ? { ...book, name: data.name } : book, format: `the lorebook of a character card (${spec})` };
  }
  if (typeof spec === 'string') throw new ImportError('unknown_format', `Unknown spec ${JSON.stringify(spec)}: a lorebook is lorebook_v3, SillyTavern World Info or a card's character_book.`);
  if (looksLikeWorldInfo(record)) return { book: worldInfoToBook(record, name), format: 'SillyTavern World Info' };
  if (Array.isArray(record.entries)) return { book: record as CharacterBook, format: 'character_book' };
  throw new ImportError('unknown_format', 'This JSON is not a lorebook: expected {"spec": "lorebook_v3", …}, a SillyTavern World Info export ({"entries": {…}}) or a character_book.');
}

function objectOf(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ImportError('invalid', `Invalid lorebook: /${path.replace(/\./g, '/')} must be an object.`);
  return value as Record<string, unknown>;
}
