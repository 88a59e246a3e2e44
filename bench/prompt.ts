import { performance } from 'node:perf_hooks';
import type { BridgeConfig } from '../src/config/Config.js';
import { buildPrompt, type PromptMessage } from '../src/llm/PromptBuilder.js';
import { MESSAGE_OVERHEAD_TOKENS } from '../src/llm/tokens.js';
import { MemoryStore, type MemoryScope } from '../src/memory/MemoryStore.js';
import { openDatabase } from '../src/store/Database.js';
import { BENCH_EXAMPLES, benchLore } from './lore.js';
import { BENCH_PERSONA_TRAITS, benchPersonaPrompt } from './seed.js';
import { summarize, type Summary } from './stats.js';
import type { BenchRoom, World } from './world.js';

export interface PromptScenarioResult {
  name: string;
  iterations: number;
  time: Summary;
  /** Averages per assembly. */
  rowsFetched: number;
  historyIncluded: number;
  chaptersIncluded: number;
  estimatedTokens: number;
}

/**
 * Prompt assembly as PersonaResponder does it for a reply, without the model call: the
 * scope's recent messages and chapters from MemoryStore, then PromptBuilder fitting them to
 * memory.context_tokens. Run in this process against the benchmark's database.
 */
export function runPromptAssembly(
  databasePath: string,
  world: World,
  config: Pick<BridgeConfig, 'memory'>,
  opts: { iterations: number; warmup: number },
): PromptScenarioResult[] {
  const db = openDatabase(databasePath);
  try {
    const memory = new MemoryStore(db);
    const scenarios: Array<{ name: string; rooms: BenchRoom[] }> = [
      { name: 'DM, steady state (chapters + recent tail)', rooms: world.dmRooms },
      { name: 'busy group room, never summarised (worst case)', rooms: world.ingestRooms },
    ];
    return scenarios.map(({ name, rooms }) => measure(name, rooms, memory, world, config.memory.context_tokens, opts));
  } finally {
    db.close();
  }
}

function measure(
  name: string,
  rooms: BenchRoom[],
  memory: MemoryStore,
  world: World,
  contextTokens: number,
  opts: { iterations: number; warmup: number },
): PromptScenarioResult {
  // As PersonaResponder: no message costs less than its framing, so more rows can never fit.
  const limit = Math.ceil(contextTokens / MESSAGE_OVERHEAD_TOKENS);
  const times: number[] = [];
  let rows = 0;
  let history = 0;
  let chapters = 0;
  let tokens = 0;
  for (let i = 0; i < opts.warmup + opts.iterations; i++) {
    const room = rooms[i % rooms.length]!;
    const persona = world.personas.find((p) => p.userId === room.personas[0])!;
    const scope: MemoryScope = { personaId: persona.userId, roomId: room.roomId, threadRoot: null };
    const started = performance.now();
    const recent = memory.recent(scope, limit);
    const turns: PromptMessage[] = recent.map((m) => ({
      sender: m.sender,
      name: m.sender === persona.userId ? persona.name : (world.displayName(m.sender) ?? m.displayName ?? m.sender),
      msgtype: m.msgtype,
      body: m.body,
    }));
    const summaries = memory.chapters(scope, 20).map((c) => c.summary);
    const built = buildPrompt({
      persona: { name: persona.name, userId: persona.userId, prompt: benchPersonaPrompt(persona.name), traits: BENCH_PERSONA_TRAITS },
      isDirect: room.kind === 'dm',
      participants: world.members(room).filter((u) => u !== persona.userId).map((u) => world.displayName(u) ?? u),
      inThread: false,
      chapters: summaries,
      history: turns,
      lore: benchLore(turns, persona.name, turns.at(-1)?.name ?? 'someone'),
      examples: BENCH_EXAMPLES,
      budgetTokens: contextTokens,
    });
    const elapsed = performance.now() - started;
    if (i < opts.warmup) continue;
    times.push(elapsed);
    rows += recent.length;
    history += built.historyIncluded;
    chapters += built.chaptersIncluded;
    tokens += built.estimatedTokens;
  }
  const n = Math.max(1, opts.iterations);
  return {
    name,
    iterations: opts.iterations,
    time: summarize(times),
    rowsFetched: rows / n,
    historyIncluded: history / n,
    chaptersIncluded: chapters / n,
    estimatedTokens: tokens / n,
  };
}
