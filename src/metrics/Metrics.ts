import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Where one answer's time went, from the bridge receiving the message to the answer sent. */
export interface ReplyTimings {
  /** Waiting for the dispatcher and the room's answer queue (earlier answers in the room). */
  queueWaitMs: number;
  /** In the LLM client: its concurrency queue, the completion and any retries. */
  llmMs: number;
  /** Sending the answer's event(s) to the homeserver. */
  sendMs: number;
  /** The whole of it (more than the sum of the parts: prompt building, memory lookups). */
  totalMs: number;
}

export interface TokenCounts {
  promptTokens: number;
  completionTokens: number;
}

/**
 * How metrics are wired (one way, in app/compose.ts): counters are pushed — a component
 * takes an `on<Event>` hook in its deps and compose points it at a method here; gauges of
 * current state are read when Prometheus scrapes, from these sources. Each is optional: a
 * missing source reports nothing.
 */
export interface MetricsSources {
  /** Personas alive now. */
  activePersonas?: () => number;
  /** Rooms with at least one persona in them. */
  rooms?: () => number;
  /** 👍 👎 ⭐ on each persona's answers now (withdrawn ones not counted). */
  feedback?: () => Array<{ personaId: string; up: number; down: number; star: number }>;
  /** Tool servers (MCP and built-in) and whether each is ready now. */
  toolServers?: () => Array<{ server: string; ready: boolean }>;
}

/** Seconds; a tool call ranges from a local lookup (ms) to a slow web request (a minute). */
const TOOL_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Seconds; replies range from a cached small model (~0.1 s) to a large local one (minutes). */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];

/** Seconds; the bridge's own stages before the model is asked take from microseconds to (a member load) a second. */
const STAGE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 1];

/** Stage names come from code (AnswerTimeline's laps, the pipeline's step names), never from events; bounded all the same. */
const MAX_STAGES = 40;

/**
 * Event types come from the homeserver and so from anyone; a label value per distinct type
 * would let a room full of custom events grow the registry without bound.
 */
const MAX_EVENT_TYPES = 50;

/**
 * The bridge's Prometheus metrics, in a registry of its own (matrix-appservice-bridge and
 * other libraries may use prom-client's global one). Every method is cheap and never throws,
 * so instrumented code can call it unconditionally on its hot path.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly eventsReceived: Counter<'type'>;
  private readonly replies: Counter<'persona'>;
  private readonly replyLatency: Histogram<'stage'>;
  private readonly llmTokens: Counter<'persona' | 'direction'>;
  private readonly llmErrors: Counter<'kind'>;
  private readonly contextExceeded: Counter<'backend' | 'model'>;
  private readonly backendTokens: Counter<'backend' | 'model' | 'direction'>;
  private readonly undecryptableEvents: Counter<'reason'>;
  private readonly undecryptableNotices: Counter<'reason'>;
  private readonly suppressedLoops: Counter;
  private readonly memoryWriteFailures: Counter<'code'>;
  private readonly droppedSends: Counter;
  private readonly stepFailures: Counter<'step'>;
  private readonly answerStages: Histogram<'stage'>;
  private readonly stageNames = new Set<string>();
  private readonly toolCalls: Counter<'server' | 'tool' | 'outcome'>;
  private readonly toolLatency: Histogram<'server' | 'tool'>;
  private readonly toolRestarts: Counter<'server'>;
  private readonly mediaBytes: Counter;
  private readonly speechCalls: Counter<'kind' | 'result'>;
  private readonly speechLatency: Histogram<'kind'>;
  private readonly eventTypes = new Set<string>();
  private sources: MetricsSources = {};

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.eventsReceived = new Counter({
      name: 'personas_events_received_total',
      help: 'Events pushed by the homeserver and accepted (after de-duplication), by event type.',
      labelNames: ['type'],
      registers,
    });
    this.replies = new Counter({
      name: 'personas_replies_total',
      help: 'Answers sent, by persona user ID.',
      labelNames: ['persona'],
      registers,
    });
    this.replyLatency = new Histogram({
      name: 'personas_reply_latency_seconds',
      help: 'Time from receiving a message to its answer being sent, by stage: queue_wait, llm, send, and total.',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.llmTokens = new Counter({
      name: 'personas_llm_tokens_total',
      help: 'LLM tokens used for answers, by persona user ID and direction (in: prompt, out: completion).',
      labelNames: ['persona', 'direction'],
      registers,
    });
    this.llmErrors = new Counter({
      name: 'personas_llm_errors_total',
      help: 'LLM requests that failed after retries, by kind (timeout, unavailable, rejected, empty, context, malformed).',
      labelNames: ['kind'],
      registers,
    });
    this.contextExceeded = new Counter({
      name: 'personas_llm_context_exceeded_total',
      help: 'Prompts the model server refused as longer than its context window (each shrank later prompts), by backend and model.',
      labelNames: ['backend', 'model'],
      registers,
    });
    this.backendTokens = new Counter({
      name: 'personas_llm_backend_tokens_total',
      help: 'LLM tokens used (answers and summaries), by llm.backends name, model and direction (in: prompt, out: completion).',
      labelNames: ['backend', 'model', 'direction'],
      registers,
    });
    this.undecryptableEvents = new Counter({
      name: 'personas_undecryptable_events_total',
      help: 'Encrypted events one of our users could not read, by reason (encryption_disabled, cannot_decrypt).',
      labelNames: ['reason'],
      registers,
    });
    this.undecryptableNotices = new Counter({
      name: 'personas_undecryptable_notices_total',
      help: 'Notices telling a room its encrypted messages cannot be read (at most one per room and reason).',
      labelNames: ['reason'],
      registers,
    });
    this.suppressedLoops = new Counter({
      name: 'personas_suppressed_loops_total',
      help: 'Persona answers withheld because personas kept answering each other (loop guard).',
      registers,
    });
    this.memoryWriteFailures = new Counter({
      name: 'personas_memory_write_failures_total',
      help: 'Memory writes that failed (SQLITE_FULL: disk full, SQLITE_READONLY, ...), by SQLite error code.',
      labelNames: ['code'],
      registers,
    });
    this.droppedSends = new Counter({
      name: 'personas_sends_dropped_total',
      help: 'Messages and other room events given up on because the homeserver stayed unreachable through every retry (about two minutes).',
      registers,
    });
    this.stepFailures = new Counter({
      name: 'personas_pipeline_step_failures_total',
      help: 'Events a pipeline step failed on (logged at error; the later steps still ran), by step.',
      labelNames: ['step'],
      registers,
    });
    this.answerStages = new Histogram({
      name: 'personas_answer_stage_seconds',
      help:
        "The bridge's own time per answer before the model is asked, by stage (auth, parse, pending, queue, each pipeline step, " +
        'answer_queue, members, remember, usage, history, recall, turns, prompt, request) and in total; the first answer to each message.',
      labelNames: ['stage'],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.toolCalls = new Counter({
      name: 'personas_tool_calls_total',
      help: 'Tool calls that ran, by server, tool and outcome (ok, error: an error result, a failure or a timeout).',
      labelNames: ['server', 'tool', 'outcome'],
      registers,
    });
    this.toolLatency = new Histogram({
      name: 'personas_tool_call_seconds',
      help: 'How long tool calls took, by server and tool.',
      labelNames: ['server', 'tool'],
      buckets: TOOL_BUCKETS,
      registers,
    });
    this.toolRestarts = new Counter({
      name: 'personas_tool_server_restarts_total',
      help: 'MCP servers started again after they died or their connection failed, by server.',
      labelNames: ['server'],
      registers,
    });
    this.mediaBytes = new Counter({
      name: 'personas_media_fetched_bytes_total',
      help: 'Bytes of attachments (images, files, voice messages) downloaded from the homeserver.',
      registers,
    });
    this.speechCalls = new Counter({
      name: 'personas_speech_calls_total',
      help: 'Calls to the speech endpoints, by kind (transcription, synthesis) and result (ok, failed).',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.speechLatency = new Histogram({
      name: 'personas_speech_seconds',
      help: 'How long a call to a speech endpoint took (transcription, synthesis).',
      labelNames: ['kind'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    // Scrape-time values: read from their owners through the sources set with observe().
    const sources = (): MetricsSources => this.sources;
    new Gauge({
      name: 'personas_tool_server_ready',
      help: 'Tool servers (MCP and built-in): 1 when ready, 0 when starting, failed or restarting.',
      labelNames: ['server'],
      registers,
      collect() {
        for (const { server, ready } of sources().toolServers?.() ?? []) this.set({ server }, ready ? 1 : 0);
      },
    });
    new Gauge({
      name: 'personas_active_personas',
      help: 'Personas alive now.',
      registers,
      collect() {
        const value = sources().activePersonas?.();
        if (value !== undefined) this.set(value);
      },
    });
    new Gauge({
      name: 'personas_rooms',
      help: 'Rooms with at least one persona joined.',
      registers,
      collect() {
        const value = sources().rooms?.();
        if (value !== undefined) this.set(value);
      },
    });
    new Gauge({
      name: 'personas_feedback',
      help: "Reactions on a persona's answers now, by persona user ID and kind (up: 👍, down: 👎, star: ⭐).",
      labelNames: ['persona', 'kind'],
      registers,
      collect() {
        const rows = sources().feedback?.();
        if (!rows) return;
        this.reset();
        for (const r of rows) for (const kind of ['up', 'down', 'star'] as const) this.set({ persona: r.personaId, kind }, r[kind]);
      },
    });
    new Gauge({
      name: 'personas_feedback_rating',
      help: "Share of 👍 among the 👍 and 👎 on a persona's answers (0..1), by persona user ID; absent with neither.",
      labelNames: ['persona'],
      registers,
      collect() {
        const rows = sources().feedback?.();
        if (!rows) return;
        this.reset();
        for (const r of rows) if (r.up + r.down > 0) this.set({ persona: r.personaId }, r.up / (r.up + r.down));
      },
    });
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Sets (or replaces) the scrape-time sources; sources not given keep their current value. */
  observe(sources: MetricsSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  eventReceived(type: string): void {
    this.eventsReceived.inc({ type: this.eventTypeLabel(type) });
  }

  replied(personaUserId: string, timings: ReplyTimings): void {
    this.replies.inc({ persona: personaUserId });
    const stages: [string, number][] = [
      ['queue_wait', timings.queueWaitMs],
      ['llm', timings.llmMs],
      ['send', timings.sendMs],
      ['total', timings.totalMs],
    ];
    // Clocks can step backwards between two Date.now() calls; a negative time is noise.
    for (const [stage, ms] of stages) this.replyLatency.observe({ stage }, Math.max(0, ms) / 1000);
  }

  /** One answer's timeline (metrics/AnswerTimeline.ts), as the model is asked: each stage and the total. */
  answerTimeline(stages: ReadonlyMap<string, number>, totalMs: number): void {
    for (const [stage, ms] of stages) this.answerStages.observe({ stage: this.stageLabel(stage) }, ms / 1000);
    this.answerStages.observe({ stage: 'total' }, totalMs / 1000);
  }

  llmUsage(personaUserId: string, usage: TokenCounts): void {
    this.llmTokens.inc({ persona: personaUserId, direction: 'in' }, usage.promptTokens);
    this.llmTokens.inc({ persona: personaUserId, direction: 'out' }, usage.completionTokens);
  }

  llmError(kind: string): void {
    this.llmErrors.inc({ kind });
  }

  llmContextExceeded(backend: string, model: string): void {
    this.contextExceeded.inc({ backend, model });
  }

  backendUsage(backend: string, model: string, usage: TokenCounts): void {
    this.backendTokens.inc({ backend, model, direction: 'in' }, usage.promptTokens);
    this.backendTokens.inc({ backend, model, direction: 'out' }, usage.completionTokens);
  }

  undecryptableEvent(reason: string): void {
    this.undecryptableEvents.inc({ reason });
  }

  loopSuppressed(): void {
    this.suppressedLoops.inc();
  }

  /** `code`: an SQLite error code (a small fixed set) or 'error'. */
  memoryWriteFailed(code: string): void {
    this.memoryWriteFailures.inc({ code: /^SQLITE_[A-Z_]+$/.test(code) ? code : 'error' });
  }

  /** A tool call that ran; `outcome` error for error results, failures and timeouts. */
  toolCall(server: string, tool: string, outcome: 'ok' | 'error', ms: number): void {
    this.toolCalls.inc({ server, tool, outcome });
    this.toolLatency.observe({ server, tool }, Math.max(0, ms) / 1000);
  }

  toolServerRestarted(server: string): void {
    this.toolRestarts.inc({ server });
  }

  sendDropped(): void {
    this.droppedSends.inc();
  }

  /** `step`: a pipeline step's name (a fixed set, app/compose.ts). */
  stepFailed(step: string): void {
    this.stepFailures.inc({ step });
  }

  mediaFetched(bytes: number): void {
    this.mediaBytes.inc(bytes);
  }

  speechCall(call: { kind: 'transcription' | 'synthesis'; ok: boolean; latencyMs: number }): void {
    this.speechCalls.inc({ kind: call.kind, result: call.ok ? 'ok' : 'failed' });
    this.speechLatency.observe({ kind: call.kind }, call.latencyMs / 1000);
  }

  undecryptableNotice(reason: string): void {
    this.undecryptableNotices.inc({ reason });
  }

  /** The text exposition format, for GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private stageLabel(stage: string): string {
    if (this.stageNames.has(stage)) return stage;
    if (this.stageNames.size >= MAX_STAGES) return 'other';
    this.stageNames.add(stage);
    return stage;
  }

  private eventTypeLabel(type: string): string {
    if (this.eventTypes.has(type)) return type;
    if (this.eventTypes.size >= MAX_EVENT_TYPES || type.length > 100) return 'other';
    this.eventTypes.add(type);
    return type;
  }
}
