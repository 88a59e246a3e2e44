/**
 * Function calling on the OpenAI chat-completions wire: the tools offered, the calls a model
 * makes (whole, or streamed in pieces), and the messages that carry them back. Kept apart from
 * LlmClient so the client only passes them through.
 */
import { estimateMessageTokens, estimateTokens } from './tokens.js';

/** One tool offered to the model (OpenAI's function tool). */
export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

/** One call the model asked for; `arguments` is the model's JSON text, unparsed (it may be malformed). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * What follows the prompt in a tool loop: the assistant's turn that asked for calls, and one
 * result per call (`tool_call_id` ties them together).
 */
export type ToolTurn =
  | { role: 'assistant'; content: string | null; tool_calls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> }
  | { role: 'tool'; tool_call_id: string; content: string };

/** The assistant turn that asked for these calls, as the model must see it again. */
export function assistantCallTurn(text: string, calls: readonly ToolCall[]): ToolTurn {
  return {
    role: 'assistant',
    content: text || null,
    tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
  };
}

/** Estimated tokens of the tools offered and of the turns after the prompt (they share its budget). */
export function toolTokens(tools: readonly ToolDefinition[] | undefined, turns: readonly ToolTurn[] | undefined): number {
  let n = 0;
  for (const tool of tools ?? []) n += estimateTokens(JSON.stringify(tool));
  for (const turn of turns ?? []) n += estimateMessageTokens(turn.role === 'tool' ? turn.content : `${turn.content ?? ''}${JSON.stringify(turn.tool_calls)}`);
  return n;
}

/** A streamed call in pieces, as `delta.tool_calls` sends it. */
interface ToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

/** Collects a stream's `delta.tool_calls` pieces into whole calls (by index; the first piece has the id and name). */
export class ToolCallAccumulator {
  private readonly calls: Array<{ id: string; name: string; arguments: string }> = [];

  add(deltas: unknown): void {
    if (!Array.isArray(deltas)) return;
    for (const raw of deltas as ToolCallDelta[]) {
      if (typeof raw !== 'object' || raw === null) continue;
      const index = typeof raw.index === 'number' && raw.index >= 0 && raw.index < MAX_CALLS_READ ? raw.index : this.calls.length;
      if (index >= MAX_CALLS_READ) continue;
      const call = (this.calls[index] ??= { id: '', name: '', arguments: '' });
      if (typeof raw.id === 'string' && raw.id) call.id = raw.id;
      if (typeof raw.function?.name === 'string') call.name += raw.function.name;
      if (typeof raw.function?.arguments === 'string' && call.arguments.length < MAX_ARGUMENT_CHARS) call.arguments += raw.function.arguments;
    }
  }

  result(): ToolCall[] {
    return normalizeCalls(this.calls.filter((c) => c !== undefined));
  }
}

/** A model that asks for more calls than this in one turn has the rest ignored while reading. */
const MAX_CALLS_READ = 256;
/** Arguments longer than this are cut while reading (they then fail to parse: an error result). */
const MAX_ARGUMENT_CHARS = 256 * 1024;

/** The calls of a non-streamed completion's message. */
export function messageToolCalls(message: unknown): ToolCall[] {
  const calls = (message as { tool_calls?: unknown } | null | undefined)?.tool_calls;
  if (!Array.isArray(calls)) return [];
  return normalizeCalls(
    calls.slice(0, MAX_CALLS_READ).map((c: { id?: unknown; function?: { name?: unknown; arguments?: unknown } }) => ({
      id: typeof c?.id === 'string' ? c.id : '',
      name: typeof c?.function?.name === 'string' ? c.function.name : '',
      // Some servers send the arguments as an object instead of JSON text.
      arguments: typeof c?.function?.arguments === 'string' ? c.function.arguments : c?.function?.arguments === undefined ? '' : JSON.stringify(c.function.arguments),
    })),
  );
}

/** Every call gets an id (some local servers send none or repeat them): results must be told apart. */
function normalizeCalls(calls: Array<{ id: string; name: string; arguments: string }>): ToolCall[] {
  const seen = new Set<string>();
  return calls.map((c, i) => {
    let id = c.id && !seen.has(c.id) ? c.id : `call_${i}`;
    while (seen.has(id)) id = `${id}_`;
    seen.add(id);
    return { id, name: c.name, arguments: c.arguments.slice(0, MAX_ARGUMENT_CHARS) };
  });
}

/**
 * True when an endpoint's refusal is about the tools in the request: llama.cpp without
 * `--jinja` ("tools param requires --jinja flag"), Ollama ("does not support tools"), vLLM
 * without a tool parser ("auto" tool choice requires --enable-auto-tool-choice), others that
 * name the `tools`/`functions` field.
 */
export function refusesTools(status: number | undefined, message: string): boolean {
  if (status === undefined || ![400, 404, 422, 500, 501].includes(status)) return false;
  return /\btools?\b|jinja|function.?call|\bfunctions\b|tool.?choice/i.test(message);
}
