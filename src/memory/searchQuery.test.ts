import { queryTerms, roomToken, roomTermQuery, termExpression, words } from './searchQuery.js';

test('words split like the index tokenizer: letters and digits, lower-cased, accents folded', () => {
  expect(words("Zoë's café, 2nd-floor!! @persona_ada:hs")).toEqual(['zoe', 's', 'cafe', '2nd', 'floor', 'persona', 'ada', 'hs']);
});

test('query terms drop stop words, single letters and repeats; numbers stay', () => {
  expect(queryTerms("What was the name of my sister's dog? Do you remember? It's 7 years old, the dog")).toEqual([
    'name',
    'sister',
    'dog',
    '7',
    'years',
    'old',
  ]);
  expect(queryTerms('hi, how are you?')).toEqual([]);
});

test('too many terms: the longest are kept, in their original order', () => {
  const text = 'aa bbbbbb cc dddddddd ee ffff';
  expect(queryTerms(text, 3)).toEqual(['bbbbbb', 'dddddddd', 'ffff']);
});

test('term expressions are quoted; longer words match by prefix', () => {
  expect(termExpression('dog')).toBe('"dog"');
  expect(termExpression('birthday')).toBe('"birthday"*');
});

test('a room is one token: hex of its id, as SQLite hex() writes it', () => {
  expect(roomToken('!a:b')).toBe('21613A62');
  expect(roomTermQuery('!a:b', 'dog')).toBe('room : "21613A62" AND body : "dog"');
});
