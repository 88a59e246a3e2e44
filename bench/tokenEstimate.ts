// The token estimator (src/llm/tokens.ts) against a real tokenizer: llama-server's /tokenize
// with the tiny generated model, which carries Mistral-7B's SentencePiece vocabulary (32,000
// tokens, byte fallback). Prompts are fitted to budgets by the estimate, so it must not count
// fewer tokens than the model does; how much more it counts is the budget it wastes.
//
//   node --import ./tools/register-ts.mjs bench/tokenEstimate.ts     (needs root: scripts/llama.sh)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { estimateTokens } from '../src/llm/tokens.ts';
import { startLlama } from '../tests/harness/llama.ts';
import { freePort } from '../tests/support/freePort.ts';

export const CORPUS: Record<string, string[]> = {
  english: [
    'The quick brown fox jumps over the lazy dog near the riverbank every single morning.',
    "I can't think right now, but I'll get back to you with a longer explanation of fractions tomorrow.",
    'Ada Lovelace wrote the first published algorithm intended to be carried out by a machine, the Analytical Engine.',
  ],
  code: [
    'function fib(n: number): number { return n < 2 ? n : fib(n - 1) + fib(n - 2); }',
    'SELECT day, SUM(prompt_tokens) FROM llm_usage WHERE user_id = ? GROUP BY day ORDER BY day DESC;',
    '{"error":{"code":400,"type":"exceed_context_size_error","n_prompt_tokens":546,"n_ctx":512}}',
  ],
  numbers: ['3.14159 2.71828 1.41421 1729 65535 0x7fffffff 2026-11-29T08:45:00Z', 'Order #48213: 17 × €12.99 = €220.83'],
  emoji: ['Great job! 🎉🎉 Let us celebrate 🥳🍰 and then get back to work 💪😄', '👍🏽 ❤️ 🧮 🚀✨'],
  cjk: ['素数とは、1とその数自身以外に正の約数を持たない自然数のことです。', '我们今天学习分数和小数的区别。', '안녕하세요, 오늘은 날씨가 좋네요.'],
  mixed: ['Message 1: tell me more about prime numbers, 素数, and 🧮 please.', 'Café déjà vu — naïve coöperation, façade, Zürich, Ångström.'],
};

interface Row {
  category: string;
  text: string;
  estimated: number;
  actual: number;
}

async function tokenize(rootUrl: string, text: string): Promise<number> {
  const res = await fetch(`${rootUrl}/tokenize`, { method: 'POST', body: JSON.stringify({ content: text, add_special: false }) });
  const { tokens } = (await res.json()) as { tokens: number[] };
  return tokens.length;
}

export async function measure(): Promise<Row[]> {
  const llama = await startLlama({ dataDir: mkdtempSync(join(tmpdir(), 'bench-tokens-')), port: await freePort() });
  try {
    const rows: Row[] = [];
    for (const [category, texts] of Object.entries(CORPUS)) {
      for (const text of texts) rows.push({ category, text, estimated: estimateTokens(text), actual: await tokenize(llama.rootUrl, text) });
    }
    return rows;
  } finally {
    await llama.stop();
  }
}

export function report(rows: Row[]): string {
  const lines = ['| corpus | texts | real tokens | estimated | estimate / real (min–max) | under-counted texts |', '|---|---:|---:|---:|---:|---:|'];
  const categories = [...new Set(rows.map((r) => r.category)), 'all'];
  for (const category of categories) {
    const rs = category === 'all' ? rows : rows.filter((r) => r.category === category);
    const actual = rs.reduce((n, r) => n + r.actual, 0);
    const estimated = rs.reduce((n, r) => n + r.estimated, 0);
    const ratios = rs.map((r) => r.estimated / r.actual);
    const under = rs.filter((r) => r.estimated < r.actual).length;
    lines.push(`| ${category} | ${rs.length} | ${actual} | ${estimated} | ${(estimated / actual).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) | ${under} |`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(report(await measure()));
}
