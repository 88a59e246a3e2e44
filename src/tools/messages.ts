/**
 * What the tools feature says: to people in the room (progress, approval requests, the note
 * that a model cannot use tools) and to the model (error results). Kept together so the
 * wording is reviewed in one place.
 */

/** The live message while a round of calls runs. */
export function progressText(tools: readonly string[]): string {
  const shown = tools.slice(0, 3).join(', ');
  return `🔧 checking ${shown}${tools.length > 3 ? ` and ${tools.length - 3} more` : ''}…`;
}

/** The persona asks before running a tool marked `approval: required`. */
export function approvalRequestText(tool: string, args: string, timeoutMs: number, prefix: string): string {
  // Seconds under a minute: "within 1 minute" for a 10 s timeout would promise time that is not there.
  const seconds = Math.max(1, Math.round(timeoutMs / 1000));
  const minutes = Math.round(seconds / 60);
  const within = seconds < 60 ? `${seconds} second${seconds === 1 ? '' : 's'}` : `${minutes} minute${minutes === 1 ? '' : 's'}`;
  return (
    `🔐 I would like to run ${tool} with ${args}\n` +
    `React ✅ to allow it or ❌ to refuse (or ${prefix}approve / ${prefix}deny). Without an answer within ${within} it is refused.`
  );
}

/** Said once per persona and model when the model's server refuses tools. */
export function toolsUnavailableNote(): string {
  return '(I could not use my tools for this answer: the model server does not accept them.)';
}

export function approveReply(count: number): string {
  return count ? `Approved ${count === 1 ? 'the tool call' : `${count} tool calls`}.` : 'No tool call is waiting for your approval here.';
}

export function denyReply(count: number): string {
  return count ? `Refused ${count === 1 ? 'the tool call' : `${count} tool calls`}.` : 'No tool call is waiting for your approval here.';
}

// --- To the model (tool results) -------------------------------------------------------------

export const modelText = {
  unknownTool: (name: string, offered: readonly string[]) =>
    `Error: there is no tool named "${name}". The tools you can call are: ${offered.join(', ') || 'none'}.`,
  badArguments: (detail: string) => `Error: the arguments are not a valid JSON object (${detail}). Call the tool again with a JSON object.`,
  tooManyCalls: (max: number) => `Error: not run. At most ${max} tool calls are run per turn; call fewer at once.`,
  denied: (by: string) => `The call was refused by ${by}: it did not run. Do not try it again; answer without it.`,
  timeout: (minutes: number) => `Nobody approved the call within ${minutes} minute${minutes === 1 ? '' : 's'}: it did not run. Answer without it.`,
  noApproval: 'The approval request could not be posted: the call did not run.',
  interrupted: 'The bridge restarted while this call was running: it may or may not have taken effect, and it was not run again.',
  budgetSpent: 'Error: not run. The time for tools in this answer is used up; answer with what you have.',
  roundLimited: 'Error: not run. No more tool calls are allowed for this answer; answer with what you have.',
  cut: (shown: number, total: number) => `\n[… cut: ${shown} of ${total} characters shown]`,
  empty: '(the tool returned nothing)',
};
