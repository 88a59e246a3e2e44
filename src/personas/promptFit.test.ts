import { contextBudget } from '../llm/contextBudget.js';
import { buildPrompt } from '../llm/PromptBuilder.js';
import { personaPromptFit, promptFitMessage } from './promptFit.js';

/** The bridge's default budget when the server does not say its window: memory.context_tokens 4096. */
const DEFAULT_BUDGET = contextBudget({ contextTokens: null, maxTokens: 512, promptCap: 4096, shrink: 1 });
const UNKNOWN = { model: 'test-model', contextTokens: null };

describe('personaPromptFit', () => {
  test('a short prompt fits', () => {
    expect(personaPromptFit('You are Ada, a poet.', DEFAULT_BUDGET)).toMatchObject({ kind: 'fits', limit: 2048 });
    expect(promptFitMessage(personaPromptFit('You are Ada.', DEFAULT_BUDGET), UNKNOWN)).toBeNull();
  });

  test('over half the budget: a warning naming how much reaches the model, which is what the prompt builder keeps', () => {
    const prompt = 'You are Ada, born in 1815. '.repeat(100); // ~1,500 estimated tokens (each digit, comma and dot is one)
    const fit = personaPromptFit(prompt, { promptTokens: 2000 });
    expect(fit.kind).toBe('cut');
    if (fit.kind !== 'cut') return;
    // The builder's system message starts with the same cut prompt.
    const built = buildPrompt({
      persona: { userId: '@a:hs', name: 'Ada', prompt, traits: {} },
      history: [{ sender: '@u:hs', name: 'U', msgtype: 'm.text', body: 'hi' }],
      participants: ['U'],
      isDirect: true,
      inThread: false,
      chapters: [],
      budgetTokens: 2000,
    });
    const system = String(built.messages[0]!.content);
    expect(system.startsWith(prompt.trim().slice(0, fit.keptChars - 4))).toBe(true);
    expect(system).not.toContain(prompt.trim());
    const message = promptFitMessage(fit, { model: 'local/mistral', contextTokens: 8192 })!;
    // The budget here is memory.context_tokens, not the 8192 window: raising it helps.
    expect(promptFitMessage(fit, { model: 'local/mistral', contextTokens: 8192, promptCap: 2000 })).toBe(
      `Warning: only the first ${fit.keptChars} of the prompt's ${fit.totalChars} characters reach local/mistral (context window 8192 tokens): shorten it, or raise memory.context_tokens.`,
    );
    // A small window is what limits it: only a larger one helps, raising the setting would not.
    expect(message).toBe(
      `Warning: only the first ${fit.keptChars} of the prompt's ${fit.totalChars} characters reach local/mistral (context window 8192 tokens): shorten it, or give the persona a model with a larger context window.`,
    );
  });

  test("the issue's 60,000-character prompt cannot fit the default budget at all: refused, saying what would fit", () => {
    const prompt = 'Ada remembers 1,000 facts; '.repeat(2223).slice(0, 60_000);
    const fit = personaPromptFit(prompt, DEFAULT_BUDGET);
    expect(fit).toMatchObject({ kind: 'too_long', limit: 2048, budgetTokens: 4096, totalChars: 60_000 });
    const message = promptFitMessage(fit, UNKNOWN)!;
    expect(message).toBe(
      `Refused: the prompt (about ${fit.tokens} tokens) is longer than the whole prompt budget of 4096 tokens for test-model (context window unknown), so it cannot fit: shorten it, or raise memory.context_tokens if the model’s context window is larger.`,
    );
  });

  test('a known small window shrinks the budget: what fits with the default is cut there', () => {
    const prompt = 'word '.repeat(4000); // ~6,000 estimated tokens
    expect(personaPromptFit(prompt, contextBudget({ contextTokens: 32768, maxTokens: 512, promptCap: 16384, shrink: 1 })).kind).toBe('fits');
    expect(personaPromptFit(prompt, contextBudget({ contextTokens: 4096, maxTokens: 512, promptCap: 16384, shrink: 1 })).kind).toBe('too_long');
  });
});
