import { stripReasoning } from './reasoning.js';

describe('stripReasoning', () => {
  test('removes think blocks, an unclosed one to the end, and thoughts before a lone closing tag', () => {
    expect(stripReasoning('<think>plan</think>Hello')).toBe('Hello');
    expect(stripReasoning('Hi <THINK>a</THINK>there <think>b</think>!')).toBe('Hi there !');
    expect(stripReasoning('Answer first <think>never finished')).toBe('Answer first ');
    expect(stripReasoning('thinking without the opening tag</think>\nThe answer')).toBe('\nThe answer');
    expect(stripReasoning('no reasoning at all')).toBe('no reasoning at all');
  });
});
