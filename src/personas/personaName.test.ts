import { personaNameProblem, personaUserId } from './personaName.js';

const config = {
  homeserver: { url: 'http://hs', domain: 'example.org' },
  appservice: { bind: '127.0.0.1', port: 9000, bot_localpart: 'personas', bot_displayname: 'Personas', persona_prefix: 'persona_' },
};

describe('persona names', () => {
  test.each(['Ada', 'ada', 'R2-D2', 'mr_smith', '42', 'x'])('%s is valid', (name) => expect(personaNameProblem(name)).toBeNull());

  test.each([
    ['', 'the name is empty'],
    ['Ada Lovelace', "names may only contain letters, digits, '-' and '_' (not ' ')"],
    ['ada.bot', "names may only contain letters, digits, '-' and '_' (not '.')"],
    ['Zoë!', "names may only contain letters, digits, '-' and '_' (not 'ë' '!')"],
    ['@ada:hs', "names may only contain letters, digits, '-' and '_' (not '@' ':')"],
    ['a'.repeat(65), 'the name is longer than 64 characters'],
  ])('%j is refused: %s', (name, reason) => expect(personaNameProblem(name)).toBe(reason));

  test('the MXID is the prefix plus the lowercased name', () => {
    expect(personaUserId('Ada-Lovelace_2', config)).toBe('@persona_ada-lovelace_2:example.org');
  });
});
