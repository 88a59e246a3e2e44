import { readFileSync } from 'node:fs';
import { ImportError } from '../portability/ImportError.js';
import { parseBookFile } from './bookFile.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('parseBookFile', () => {
  test('a SillyTavern World Info export, named after its file', () => {
    const data = readFileSync(new URL('../../tests/fixtures/sillytavern-world-info.json', import.meta.url));
    const { book, format } = parseBookFile(data, 'Eldoria.json');
    expect(format).toBe('SillyTavern World Info');
    expect(book.name).toBe('Eldoria');
    expect(book.entries).toHaveLength(15);
  });

  test('lorebook_v3, a bare character_book and the book of a card', () => {
    const data = { name: 'Valley', entries: [{ keys: ['x'], content: 'X', enabled: true, insertion_order: 1, use_regex: false, extensions: {} }], extensions: {} };
    expect(parseBookFile(json({ spec: 'lorebook_v3', data }), 'f.json')).toEqual({ book: data, format: 'lorebook_v3' });
    expect(parseBookFile(json({ entries: [] }), 'plain.json')).toEqual({ book: { entries: [], name: 'plain' }, format: 'character_book' });
    const card = { spec: 'chara_card_v3', spec_version: '3.0', data: { name: 'Ada', character_book: { entries: [] } } };
    expect(parseBookFile(json(card), 'ada.json')).toEqual({ book: { entries: [], name: 'Ada' }, format: 'the lorebook of a character card (chara_card_v3)' });
  });

  test.each([
    ['empty', Buffer.alloc(0), /empty/],
    ['not JSON', Buffer.from('nope'), /not valid JSON/],
    ['an array', json([]), /JSON array, not a lorebook/],
    ['another spec', json({ spec: 'chara_card_v9' }), /Unknown spec "chara_card_v9"/],
    ['a card without a book', json({ spec: 'chara_card_v2', data: { name: 'A' } }), /has no lorebook/],
    ['something else', json({ hello: 1 }), /not a lorebook/],
    ['a bad entry', json({ spec: 'lorebook_v3', data: { entries: [{ keys: 'x', content: 1 }] } }), /Invalid lorebook \(lorebook_v3\): .*keys/],
    ['a book nested 100,000 deep', Buffer.from(`{"entries":[{"extensions":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`), /nests 100,003 levels deep; at most 64/],
  ])('%s is refused, saying why', (_name, data, message) => {
    let error: unknown;
    try {
      parseBookFile(data, 'book.json');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ImportError);
    expect((error as Error).message).toMatch(message);
  });
});
