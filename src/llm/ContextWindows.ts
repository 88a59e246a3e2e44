import { getLogger } from '../logging.js';
import { contextBudget, nextShrink, type ContextBudget, type ExceededReport } from './contextBudget.js';

const log = getLogger('ContextWindows');

export interface ContextWindowsOptions {
  /** A context size set in the config: used as is, nothing is discovered. */
  configured: number | null;
  /** llm.max_tokens */
  maxTokens: number;
  /** memory.context_tokens */
  promptCap: number;
  /** Asks the server (discoverContextTokens); null when it does not say. */
  discover: (model: string) => Promise<number | null>;
  /** A failed or silent discovery is tried again after this long. */
  rediscoverAfterMs?: number;
  now?: () => number;
}

interface ModelWindow {
  contextTokens: number | null;
  discoveredAt: number;
  shrink: number;
}

export interface ContextWindowStats {
  /** Prompts refused as too long by the server (each shrank the budget). */
  exceeded: number;
}

/**
 * The prompt budget per model of one endpoint: the configured or discovered context window
 * (see contextBudget), corrected downwards whenever the server refuses a prompt as too long,
 * so a room whose history outgrew the window gets a smaller prompt instead of failing on
 * every message.
 */
export class ContextWindows {
  readonly stats: ContextWindowStats = { exceeded: 0 };
  private readonly models = new Map<string, ModelWindow>();
  private readonly pending = new Map<string, Promise<ModelWindow>>();
  private readonly rediscoverAfterMs: number;
  private readonly now: () => number;

  constructor(private readonly options: ContextWindowsOptions) {
    this.rediscoverAfterMs = options.rediscoverAfterMs ?? 10 * 60_000;
    this.now = options.now ?? Date.now;
  }

  async budget(model: string): Promise<ContextBudget> {
    const window = await this.window(model);
    return contextBudget({
      contextTokens: window.contextTokens,
      maxTokens: this.options.maxTokens,
      promptCap: this.options.promptCap,
      shrink: window.shrink,
    });
  }

  /**
   * The server refused a prompt estimated at `estimatedTokens` as longer than its context:
   * learn the real window when it said so, and fit later prompts to a smaller share.
   */
  exceeded(model: string, estimatedTokens: number, report: ExceededReport): void {
    this.stats.exceeded++;
    const window = this.models.get(model) ?? { contextTokens: null, discoveredAt: this.now(), shrink: 1 };
    const before = { ...window };
    if (report.contextTokens && (window.contextTokens === null || report.contextTokens < window.contextTokens)) {
      window.contextTokens = report.contextTokens;
    }
    window.shrink = nextShrink(window.shrink, estimatedTokens, report);
    // Nothing learnt (no figures, or figures that do not explain the refusal): step down anyway,
    // so the retry is smaller than the prompt that failed.
    if (window.shrink === before.shrink && window.contextTokens === before.contextTokens) window.shrink = Math.max(0.05, window.shrink * 0.7);
    this.models.set(model, window);
    const figures = report.promptTokens ? ` (server counted ${report.promptTokens} tokens, context ${report.contextTokens ?? '?'})` : '';
    log.warn(
      `${model}: a prompt estimated at ${estimatedTokens} tokens exceeded the context${figures}; ` +
        `prompts now fit ${Math.round(window.shrink * 100)}% of the budget of context ${window.contextTokens ?? 'unknown'}`,
    );
  }

  private async window(model: string): Promise<ModelWindow> {
    const known = this.models.get(model);
    if (this.options.configured !== null) {
      if (known) return known;
      const configured = { contextTokens: this.options.configured, discoveredAt: this.now(), shrink: 1 };
      this.models.set(model, configured);
      return configured;
    }
    const stale = known && known.contextTokens === null && this.now() - known.discoveredAt > this.rediscoverAfterMs;
    if (known && !stale) return known;
    let pending = this.pending.get(model);
    if (!pending) {
      pending = this.discover(model, known);
      this.pending.set(model, pending);
    }
    return pending;
  }

  private async discover(model: string, known: ModelWindow | undefined): Promise<ModelWindow> {
    try {
      const found = await this.options.discover(model).catch(() => null);
      const window: ModelWindow = { contextTokens: found ?? known?.contextTokens ?? null, discoveredAt: this.now(), shrink: known?.shrink ?? 1 };
      if (found) log.info(`${model}: context window ${found} tokens (discovered)`);
      else if (!known) log.info(`${model}: the server does not say its context window; prompts fit memory.context_tokens (${this.options.promptCap})`);
      this.models.set(model, window);
      return window;
    } finally {
      this.pending.delete(model);
    }
  }
}
