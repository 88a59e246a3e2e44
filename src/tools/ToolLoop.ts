import { LlmError, type Completion, type CompletionRequest, type TokenUsage } from '../llm/LlmClient.js';
import { assistantCallTurn, type ToolCall, type ToolTurn } from '../llm/toolCalls.js';
import { estimateTokens, truncateToTokens } from '../llm/tokens.js';
import { getLogger } from '../logging.js';
import { modelText, approvalRequestText, progressText } from './messages.js';
import { errorOutput, type ToolCallContext, type ToolOutput } from './Tool.js';
import type { ToolApprovals } from './ToolApprovals.js';
import type { ToolCatalog, ToolOffer } from './ToolCatalog.js';
import type { AnswerKey, StoredCall, ToolRunStore } from './ToolRunStore.js';
import { splitQualified } from './toolNames.js';
import { describeError } from '../util/describeError.js';

const log = getLogger('ToolLoop');

export interface ToolLoopLimits {
  /** Model requests that may ask for calls per answer (tools.max_rounds); the next one answers without tools. */
  maxRounds: number;
  maxCallsPerRound: number;
  callTimeoutMs: number;
  /** For calls and model requests together; time waiting for approvals is not counted. */
  timeBudgetMs: number;
  /** A result is cut to this many estimated tokens. */
  resultTokens: number;
  approvalTimeoutMs: number;
}

export interface ToolLoopDeps {
  catalog: Pick<ToolCatalog, 'source' | 'needsApproval'>;
  llm: { complete(request: CompletionRequest): Promise<Completion> };
  approvals: Pick<ToolApprovals, 'ask'>;
  /** Progress per answer, for resuming after a crash; omit to keep none. */
  runs?: Pick<ToolRunStore, 'rounds' | 'saveRound' | 'started' | 'done' | 'clear'>;
  limits: ToolLoopLimits;
  commandPrefix: string;
  /** After every call that ran (metrics). */
  onToolCall?: (server: string, tool: string, outcome: 'ok' | 'error', ms: number) => void;
  now?: () => number;
}

/** One answer's loop. */
export interface ToolLoopRun {
  /** The model request as it would go without tools (prompt, model, signal, onText...). */
  request: CompletionRequest;
  offer: ToolOffer;
  key: AnswerKey;
  context: Omit<ToolCallContext, 'signal' | 'timeoutMs'>;
  /** Forget what an earlier run of this answer did (regenerating runs the tools again). */
  fresh?: boolean;
  /** Asked before each further round: false ends the tools (rate limit, usage cap). */
  mayContinue?: () => boolean;
  /** Shows what is being done (a live answer's text). */
  progress?: (text: string) => void;
  /** Posts an approval request as the persona; returns its event id. */
  postApproval(text: string): Promise<string>;
}

/** A call behind an answer, as kept with it. */
export interface UsedTool {
  tool: string;
  arguments: string;
  result: string;
  isError: boolean;
}

export interface ToolLoopResult {
  /** The final answer; its usage is that of every round together. */
  completion: Completion;
  used: UsedTool[];
}

interface Deadline {
  at: number;
}

/** Characters at most in `estimateTokens`-many tokens (ASCII letters cost 0.3 each). */
const CHARS_PER_TOKEN_MAX = 1 / 0.3;

/**
 * Answers with tools: the model is asked with the persona's tools offered; the calls it asks
 * for are run (in parallel, at most `maxCallsPerRound`), their results go back to it, and so on
 * until it answers in words, for `maxRounds` rounds at most and within the time budget, after
 * which it is asked once more without tools. A call's failure of any kind (an unknown tool,
 * arguments that are not JSON, an error, a timeout, a refusal) is an error result the model
 * reads, never a failure of the answer. Results are cut to `resultTokens`.
 *
 * Crash safety, with `runs`: each round the model asked for is written before its calls run,
 * each call `started` before it runs and `done` with its result after. A resumed answer
 * (its message still pending after a restart) replays what is recorded: a `done` call is
 * never run again (its recorded result is reused), a `started` one is never run again either
 * (the model is told it was interrupted and may or may not have taken effect), and only calls
 * not yet started run. So every call runs at most once per answer, provided the `started` write
 * succeeded (if it fails, the call is not run). The model's final answer is asked again, and
 * the answer's send is de-duplicated by the homeserver (PersonaResponder's idempotency keys).
 */
export class ToolLoop {
  private readonly now: () => number;

  constructor(private readonly deps: ToolLoopDeps) {
    this.now = deps.now ?? Date.now;
  }

  async run(run: ToolLoopRun): Promise<ToolLoopResult> {
    const { limits, runs } = this.deps;
    if (run.fresh) runs?.clear(run.key);
    const deadline: Deadline = { at: this.now() + limits.timeBudgetMs };
    const turns: ToolTurn[] = [];
    const used: UsedTool[] = [];
    let usage: TokenUsage | null = null;
    let lastAsked: Completion | null = null;
    let round = 0;
    for (const stored of runs?.rounds(run.key) ?? []) {
      round = stored.round;
      log.info(`${run.context.personaName} resumes its tools for ${run.key.eventId} at round ${round}`);
      turns.push(assistantCallTurn(stored.text, stored.calls), ...(await this.runCalls(run, round, stored.calls, stored.outcomes, deadline, used)));
    }
    try {
      for (;;) {
        round++;
        const last = round > limits.maxRounds || this.now() >= deadline.at || (round > 1 && run.mayContinue?.() === false);
        const completion = await this.deps.llm.complete({ ...run.request, ...(last ? {} : { tools: run.offer.definitions }), continuation: turns });
        lastAsked = completion;
        usage = addUsage(usage, completion.usage);
        const calls = completion.toolCalls ?? [];
        if (last || calls.length === 0) return { completion: { ...completion, usage }, used };
        runs?.saveRound(run.key, round, completion.text, calls);
        turns.push(assistantCallTurn(completion.text, calls), ...(await this.runCalls(run, round, calls, new Map(), deadline, used)));
      }
    } catch (err) {
      // Stopped during a round or a tool: the rounds the model answered were still paid for,
      // so the cancellation carries them (with the cancelled request's own, if it was sent).
      if (!(err instanceof LlmError) || err.kind !== 'cancelled') throw err;
      throw withUsage(err, addUsage(usage, err.usage), lastAsked);
    }
  }

  /** One round's calls, in parallel; one result turn per call, in the model's order. */
  private async runCalls(run: ToolLoopRun, round: number, calls: readonly ToolCall[], outcomes: Map<string, StoredCall>, deadline: Deadline, used: UsedTool[]): Promise<ToolTurn[]> {
    const shown = calls
      .slice(0, this.deps.limits.maxCallsPerRound)
      .map((c) => run.offer.names.qualified(c.name))
      .filter((q): q is string => q !== undefined);
    if (shown.length) run.progress?.(progressText([...new Set(shown)]));
    const results = await Promise.all(
      calls.map(async (call, index): Promise<{ tool: string; output: ToolOutput }> => {
        const prior = outcomes.get(call.id);
        const tool = run.offer.names.qualified(call.name) ?? '';
        if (prior?.state === 'done') return { tool, output: { text: prior.result ?? '', isError: prior.isError, images: [] } };
        let result: { tool: string; output: ToolOutput };
        if (prior?.state === 'started') result = { tool, output: errorOutput(modelText.interrupted) };
        else if (index >= this.deps.limits.maxCallsPerRound) result = { tool, output: errorOutput(modelText.tooManyCalls(this.deps.limits.maxCallsPerRound)) };
        else return this.runOne(run, round, call, deadline);
        this.deps.runs?.done(run.key, round, call, result.tool, result.output.text, true);
        return result;
      }),
    );
    return results.map(({ tool, output }, i) => {
      used.push({ tool: tool || calls[i]!.name, arguments: calls[i]!.arguments, result: output.text, isError: output.isError });
      return { role: 'tool', tool_call_id: calls[i]!.id, content: output.text };
    });
  }

  private async runOne(run: ToolLoopRun, round: number, call: ToolCall, deadline: Deadline): Promise<{ tool: string; output: ToolOutput }> {
    const { limits, runs } = this.deps;
    const signal = run.request.signal ?? new AbortController().signal;
    const qualified = run.offer.names.qualified(call.name) ?? (run.offer.specs.has(call.name) ? call.name : undefined);
    const finish = (tool: string, output: ToolOutput) => {
      const text = cutResult(output.text || modelText.empty, limits.resultTokens);
      const kept = { ...output, text: output.isError && !text.startsWith('Error') ? `Error: ${text}` : text };
      runs?.done(run.key, round, call, tool, kept.text, kept.isError);
      return { tool, output: kept };
    };
    if (!qualified) {
      log.info(`${run.context.personaName} called an unknown tool "${call.name.slice(0, 80)}"`);
      return finish('', errorOutput(modelText.unknownTool(call.name.slice(0, 80), run.offer.definitions.map((d) => d.function.name))));
    }
    const args = parseArguments(call.arguments);
    if ('error' in args) return finish(qualified, errorOutput(modelText.badArguments(args.error)));
    if (this.now() >= deadline.at) return finish(qualified, errorOutput(modelText.budgetSpent));
    if (this.deps.catalog.needsApproval(qualified)) {
      const waitedFrom = this.now();
      const outcome = await this.deps.approvals.ask({
        roomId: run.context.roomId,
        requester: run.context.requester,
        post: () => run.postApproval(approvalRequestText(qualified, showArguments(call.arguments), limits.approvalTimeoutMs, this.deps.commandPrefix)),
        timeoutMs: limits.approvalTimeoutMs,
        signal,
      });
      // Time spent waiting for a person is not the tools' time.
      deadline.at += this.now() - waitedFrom;
      if (signal.aborted) throw cancelledAnswer();
      if (outcome === 'denied') return finish(qualified, errorOutput(modelText.denied('the person asked')));
      if (outcome === 'timeout') return finish(qualified, errorOutput(modelText.timeout(Math.max(1, Math.round(limits.approvalTimeoutMs / 60_000)))));
      if (outcome !== 'approved') return finish(qualified, errorOutput(modelText.noApproval));
    }
    const { server, tool } = splitQualified(qualified);
    const source = this.deps.catalog.source(server);
    if (!source) return finish(qualified, errorOutput(`Error: the tool server ${server} is not configured any more.`));
    // Recorded before it runs; a call that cannot be recorded is not run (it might run twice after a crash).
    runs?.started(run.key, round, call, qualified);
    const timeoutMs = Math.max(1, Math.min(limits.callTimeoutMs, deadline.at - this.now()));
    const callSignal = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    const startedAt = this.now();
    log.debug(`${run.context.personaName} calls ${qualified} with ${call.arguments.slice(0, 2000)}`);
    let output: ToolOutput;
    try {
      // Raced against the signal too: a source that ignores it must not hold the answer.
      output = await untilAborted(source.call(tool, args.value, { ...run.context, signal: callSignal, timeoutMs }), callSignal);
    } catch (err) {
      if (signal.aborted) throw cancelledAnswer();
      output = errorOutput(callSignal.aborted ? `The tool ${qualified} did not answer within ${Math.round(timeoutMs / 1000)} s.` : `The tool ${qualified} failed: ${describeError(err)}`);
    }
    const ms = this.now() - startedAt;
    this.deps.onToolCall?.(server, tool, output.isError ? 'error' : 'ok', ms);
    log.debug(`${qualified} answered in ${ms} ms${output.isError ? ' (error)' : ''}: ${output.text.slice(0, 2000)}`);
    return finish(qualified, output);
  }
}

/** The model's argument text as an object; an empty text is no arguments. */
export function parseArguments(text: string): { value: Record<string, unknown> } | { error: string } {
  if (!text.trim()) return { value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: describeError(err).slice(0, 200) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: `got ${Array.isArray(value) ? 'an array' : typeof value}` };
  return { value: value as Record<string, unknown> };
}

/** A result cut to `tokens` (estimated), saying how much was left out. */
export function cutResult(text: string, tokens: number): string {
  const maxChars = Math.ceil(tokens * CHARS_PER_TOKEN_MAX);
  if (text.length <= maxChars && estimateTokens(text) <= tokens) return text;
  // Only the part that could fit is measured: a 10 MB result costs no more than a short one.
  const kept = truncateToTokens(text.slice(0, maxChars + 1), Math.max(16, tokens - 24), '');
  return kept + modelText.cut(kept.length, text.length);
}

/** The arguments as shown in an approval request: compact, cut to a readable length. */
function showArguments(text: string): string {
  const parsed = parseArguments(text);
  const shown = 'value' in parsed ? JSON.stringify(parsed.value) : text;
  return shown.length > 500 ? `${shown.slice(0, 499)}…` : shown;
}

function addUsage(total: TokenUsage | null, more: TokenUsage | null): TokenUsage | null {
  if (!more) return total;
  if (!total) return { ...more };
  return { promptTokens: total.promptTokens + more.promptTokens, completionTokens: total.completionTokens + more.completionTokens, totalTokens: total.totalTokens + more.totalTokens };
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The cancellation again, charged `usage`, and naming the model asked last when it named none. */
function withUsage(cancelled: LlmError, usage: TokenUsage | null, lastAsked: Completion | null): LlmError {
  const carried = new LlmError('cancelled', cancelled.message, cancelled.attempts, undefined, { cause: cancelled, ...(usage ? { usage } : {}) });
  carried.model = cancelled.model ?? lastAsked?.model;
  carried.backend = cancelled.backend ?? lastAsked?.backend;
  return carried;
}

function cancelledAnswer(): LlmError {
  return new LlmError('cancelled', 'cancelled while running tools', 1);
}
