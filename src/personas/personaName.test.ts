import { derivedPersonaUserId, personaNameProblem, personaUserId } from './personaName.js';

const config = {
  homeserver: { url: 'http://hs', domain: 'example.org' },
  appservice: { bind: '127.0.0.1', port: 9000, bot_localpart: 'personas', bot_displayname: 'Personas', persona_prefix: 'persona_' },
};

describe('persona names', () => {
  test.each(['Ada', 'ada', 'R2-D2', 'mr_smith', '42', 'x', 'Zoë', 'Ōkami', '小月', 'Ünïcode', 'Ada Lovelace'])('%s is valid', (name) =>
    expect(personaNameProblem(name)).toBeNull(),
  );

  test.each([
    ['', 'the name is empty'],
    ['Zoë\n', 'the name starts or ends with a space'],
    ['Zo\u202Eë', 'the name contains invisible or control characters (U+202E)'],
    ['a'.repeat(65), 'the name is 65 characters long; at most 64 are allowed'],
  ])('%j is refused: %s', (name, reason) => expect(personaNameProblem(name)).toBe(reason));

  test('the MXID is the prefix plus the derived ID', () => {
    expect(personaUserId('Ada-Lovelace_2', config)).toBe('@persona_ada-lovelace_2:example.org');
    expect(personaUserId('Ünïcode', config)).toBe('@persona_unicode:example.org');
    expect(derivedPersonaUserId('小月', config)).toBe('@persona_xiaoyue:example.org');
    expect(derivedPersonaUserId('???', config)).toBeNull();
  });
});
