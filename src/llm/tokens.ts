/**
 * A deliberately pessimistic token estimate, so a prompt fitted to a budget with it does not
 * overflow the model's context: about 3.3 characters per token for ASCII (real tokenizers
 * average about 4 on English prose, fewer on code and numbers) and one token for every other
 * character (CJK and emoji often cost one or more).
 */
export function estimateTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (const ch of text) {
    if (ch.charCodeAt(0) < 128) ascii++;
    else other++;
  }
  return Math.ceil(ascii * 0.3 + other);
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
