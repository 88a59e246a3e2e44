/**
 * Reasoning models put their thinking in `<think>…</think>` blocks (DeepSeek-R1, Qwen3,
 * QwQ through servers that do not split it out) or in separate `reasoning_content` /
 * `reasoning` fields (which the client never reads). Neither is meant for the room or for
 * memory: this removes the blocks, and everything after an unclosed opening tag (an answer
 * cut off mid-thought has nothing to say yet).
 */
export function stripReasoning(text: string): string {
  let out = text.replace(/<think>[\s\S]*?<\/think>/gi, '');
  const open = out.search(/<think>/i);
  if (open >= 0) out = out.slice(0, open);
  // A server that strips the opening tag itself leaves a lone closing one after the thoughts.
  const close = out.search(/<\/think>/i);
  if (close >= 0) out = out.slice(close + '</think>'.length);
  return out;
}
