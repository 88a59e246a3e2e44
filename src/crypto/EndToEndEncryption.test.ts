import { warmUpOrder } from './EndToEndEncryption.js';

describe('warmUpOrder', () => {
  test('the bot first, then personas by how many encrypted rooms they are in, the rest in the given order', () => {
    const encrypted: Record<string, number> = { '@a': 0, '@b': 2, '@c': 0, '@d': 5, '@bot': 0 };
    expect(warmUpOrder(['@bot', '@a', '@b', '@c', '@d'], (u) => encrypted[u]!)).toEqual(['@bot', '@d', '@b', '@a', '@c']);
    expect(warmUpOrder([], () => 0)).toEqual([]);
  });
});
