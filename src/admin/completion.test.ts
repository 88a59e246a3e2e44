import { splitArgs } from '../commands/splitArgs.js';
import { completeLine, joinArgs } from './completion.js';

const commands = ['persona list', 'persona show', 'persona spawn', 'persona export', 'ping', 'rooms', 'purge memory'];
const personas = ['Fern', 'Mags', 'Zoë', 'Ada Lovelace'];

describe('console completion', () => {
  test.each([
    ['', ['persona ', 'ping ', 'purge ', 'rooms '], ''],
    ['p', ['persona ', 'ping ', 'purge '], 'p'],
    ['pers', ['persona '], 'pers'],
    ['persona ', ['export ', 'list ', 'show ', 'spawn '], ''],
    ['persona s', ['show ', 'spawn '], 's'],
    ['persona show ', ['"Ada Lovelace" ', 'Fern ', 'Mags ', 'Zoë '], ''],
    ['persona show M', ['Mags '], 'M'],
    ['persona show z', ['Zoë '], 'z'],
    ['persona show zoe', ['Zoë '], 'zoe'],
    ['persona show "ada', ['"Ada Lovelace" '], '"ada'],
    ['nothing ', [], ''],
  ])('%j', (line, hits, partial) => expect(completeLine(line, commands, personas)).toEqual([hits, partial]));
});

describe('joining shell words', () => {
  test.each([[['persona', 'show', 'Ada Lovelace']], [['persona', 'spawn', 'Zoë', 'You say "hi" \\o/']], [['a', '']]])('%j splits back the same', (words) =>
    expect(splitArgs(joinArgs(words))).toEqual(words),
  );
});
