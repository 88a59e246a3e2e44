import { linkMentions, MAX_MENTIONS } from './outgoingMentions.js';

const members = [
  { userId: '@persona_bob:localhost', displayName: 'Bob' },
  { userId: '@persona_bobby:localhost', displayName: 'Bob Smith' },
  { userId: '@alice:localhost', displayName: 'Alice <3' },
  { userId: '@nameless:localhost' },
];

describe('linkMentions', () => {
  test('@Name becomes a pill and an intentional mention', () => {
    const out = linkMentions('What do you think, @bob?', null, members);
    expect(out.body).toBe('What do you think, @bob?');
    expect(out.formatted_body).toBe('What do you think, <a href="https://matrix.to/#/@persona_bob:localhost">Bob</a>?');
    expect(out.mentions).toEqual({ user_ids: ['@persona_bob:localhost'] });
  });

  test('an MXID becomes a pill; members without a displayname are labelled by MXID', () => {
    const out = linkMentions('ping @nameless:localhost and @persona_bob:localhost', null, members);
    expect(out.formatted_body).toBe(
      'ping <a href="https://matrix.to/#/@nameless:localhost">@nameless:localhost</a> and ' +
        '<a href="https://matrix.to/#/@persona_bob:localhost">Bob</a>',
    );
    expect(out.mentions.user_ids.sort()).toEqual(['@nameless:localhost', '@persona_bob:localhost']);
  });

  test('the longer name wins; HTML in names is escaped', () => {
    const out = linkMentions('@Bob Smith meet @Alice <3', null, members);
    expect(out.formatted_body).toBe(
      '<a href="https://matrix.to/#/@persona_bobby:localhost">Bob Smith</a> meet ' +
        '<a href="https://matrix.to/#/@alice:localhost">Alice &lt;3</a>',
    );
    expect(out.mentions.user_ids).toEqual(['@persona_bobby:localhost', '@alice:localhost']);
  });

  test('plain names, e-mail addresses and partial words are not mentions', () => {
    const out = linkMentions('Bob said mail bob@example.org, not @Bobcat', null, members);
    expect(out.formatted_body).toBeNull();
    expect(out.mentions).toEqual({ user_ids: [] });
  });

  test('existing HTML is kept; links, code and tag attributes are left alone', () => {
    const html = '<p title="@Bob">Hi <b>@Bob</b>, see <a href="https://x">@Bob</a> and <code>@Bob</code></p>';
    const out = linkMentions('Hi @Bob, see @Bob and @Bob', html, members);
    expect(out.formatted_body).toBe(
      '<p title="@Bob">Hi <b><a href="https://matrix.to/#/@persona_bob:localhost">Bob</a></b>, see <a href="https://x">@Bob</a> and <code>@Bob</code></p>',
    );
  });

  test('HTML is kept as is when nobody is mentioned; newlines become <br> when HTML is generated', () => {
    expect(linkMentions('x', '<i>x</i>', members).formatted_body).toBe('<i>x</i>');
    expect(linkMentions('a < b\n@Bob', null, members).formatted_body).toBe(
      'a &lt; b<br><a href="https://matrix.to/#/@persona_bob:localhost">Bob</a>',
    );
  });
});

describe('linkMentions with hostile model text', () => {
  test('private-use characters in the text stay text: no pill, no "undefined"', () => {
    const out = linkMentions('a \ue0000\ue000 b \ue0009\ue000 c @Bob', null, members);
    expect(out.formatted_body).toBe('a \ue0000\ue000 b \ue0009\ue000 c <a href="https://matrix.to/#/@persona_bob:localhost">Bob</a>');
    expect(out.formatted_body).not.toContain('undefined');
    expect(out.mentions.user_ids).toEqual(['@persona_bob:localhost']);
    const plain = linkMentions('\ue0000\ue000', null, members);
    expect(plain.formatted_body).toBeNull();
    expect(plain.mentions.user_ids).toEqual([]);
  });

  test('every member named: each gets a pill, but m.mentions holds only the first few, in text order', () => {
    const many = Array.from({ length: 10 }, (_, i) => ({ userId: `@u${i}:localhost`, displayName: `User${i}` }));
    const text = many.map((m) => `@${m.displayName}`).reverse().join(' ');
    const out = linkMentions(text, null, many);
    expect(out.formatted_body?.match(/<a href=/g)).toHaveLength(10);
    expect(out.mentions.user_ids).toEqual(['@u9:localhost', '@u8:localhost', '@u7:localhost']);
    expect(MAX_MENTIONS).toBe(3);
  });

  test('a name repeated counts once towards the bound', () => {
    const out = linkMentions('@Bob @Bob @bob @Bob Smith', null, members);
    expect(out.mentions.user_ids).toEqual(['@persona_bob:localhost', '@persona_bobby:localhost']);
  });
});
