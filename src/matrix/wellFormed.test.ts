import { wellFormed } from './wellFormed.js';

describe('wellFormed', () => {
  it('replaces lone surrogates with U+FFFD everywhere in a content, keys included, and keeps pairs', () => {
    const content = {
      msgtype: 'm.text',
      body: 'a \ud800 b \udc00 c 😀',
      'm.new_content': { body: 'x\udbff', list: ['ok', 'y\udfff'] },
      ['k\ud83d']: 1,
    };
    expect(wellFormed(content)).toEqual({
      msgtype: 'm.text',
      body: 'a \ufffd b \ufffd c 😀',
      'm.new_content': { body: 'x\ufffd', list: ['ok', 'y\ufffd'] },
      ['k\ufffd']: 1,
    });
  });

  it('returns the same object when every string is already well-formed', () => {
    const content = { body: 'fine 😀', nested: { list: [1, 'two', null] } };
    expect(wellFormed(content)).toBe(content);
  });
});
