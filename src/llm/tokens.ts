/** Per ASCII code: 0.3 for letters and whitespace (as `/[A-Za-z\s]/` has it), 1 otherwise. */
const ASCII_COST: readonly number[] = Array.from({ length: 128 }, (_, code) => (/[A-Za-z\s]/.test(String.fromCharCode(code)) ? 0.3 : 1));

/**
 * A deliberately pessimistic token estimate, so a prompt fitted to a budget with it does not
 * overflow the model's context. Measured against a real SentencePiece tokenizer (Mistral's,
 * through llama-server's /tokenize: `bench/tokenEstimate.ts`, figures in BENCHMARKS.md), which
 * splits every digit, often every symbol, and falls back to single bytes for rarer CJK and
 * most emoji:
 * - ASCII letters and spaces: 0.3 each (English averages about 4 characters a token);
 * - digits and ASCII punctuation/symbols: 1 each;
 * - other characters by their UTF-8 length: 1 for 2-byte ones (accented Latin, Cyrillic...),
 *   2 for 3-byte ones (CJK, most of the BMP), 4 for 4-byte ones (emoji and other astral
 *   characters, which byte-fallback tokenizers spell byte by byte).
 */
export function estimateTokens(text: string): number {
  // UTF-16 code units, not `for..of` and a regular expression per character: this runs over
  // every candidate line of every prompt (about half of prompt assembly's CPU before). The
  // costs are added in the same order as per code point, so the sum is the same to the bit.
  let cost = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code < 128) cost += ASCII_COST[code]!;
    else if (code < 0x800) cost += 1;
    else if (code >= 0xd800 && code < 0xdc00 && i + 1 < length && isLowSurrogate(text.charCodeAt(i + 1))) {
      // A surrogate pair: one astral code point (a lone surrogate counts as a BMP character).
      cost += 4;
      i++;
    } else cost += 2;
  }
  return Math.ceil(cost);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code < 0xe000;
}

/** Framing tokens per chat message (role, separators), as chat templates add them. */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** Tokens that prime the assistant's answer after the last message. */
export const REPLY_PRIMING_TOKENS = 3;

export function estimateMessageTokens(content: string): number {
  return estimateTokens(content) + MESSAGE_OVERHEAD_TOKENS;
}

/** Cuts text to at most `maxTokens` by the estimate above, marking the cut. */
export function truncateToTokens(text: string, maxTokens: number, marker = ' […]'): string {
  if (estimateTokens(text) <= maxTokens) return text;
  const budget = maxTokens - estimateTokens(marker);
  if (budget <= 0) return '';
  // Binary search on code points: the longest prefix within the budget.
  const chars = [...text];
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (estimateTokens(chars.slice(0, mid).join('')) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return chars.slice(0, lo).join('').trimEnd() + marker;
}
