import { performance } from 'node:perf_hooks';
import type { BridgeConfig } from '../src/config/Config.js';
import { buildPrompt, type PromptMessage } from '../src/llm/PromptBuilder.js';
import { MemoryStore, type MemoryScope, type StoredMessage } from '../src/memory/MemoryStore.js';
import { MessageIndex } from '../src/memory/MessageIndex.js';
import { MessageSearch } from '../src/memory/MessageSearch.js';
import { NoteStore } from '../src/memory/NoteStore.js';
import { gatherPromptMemory } from '../src/memory/promptMemory.js';
import { openDatabase, type Db } from '../src/store/Database.js';
import { BENCH_EXAMPLES, benchLore } from './lore.js';
import { DISTRACTORS_PER_FACT, type Needle } from './needles.js';
import { BENCH_PERSONA_TRAITS, benchPersonaPrompt } from './seed.js';
import { int, ms, summarize, type Summary } from './stats.js';
import type { World } from './world.js';

export interface RecallBucket {
  /** Depths in [from, to). */
  from: number;
  to: number;
  needles: number;
  found: number;
}

export interface RecallResult {
  needles: number;
  found: number;
  /** found / needles */
  recall: number;
  buckets: RecallBucket[];
  /** Other messages of the room that share each fact's topic noun. */
  distractorsPerFact: number;
  recallMessages: number;
  contextTokens: number;
  /** Gathering from memory (recent, chapters, notes, retrieval) plus PromptBuilder, per question. */
  time: Summary;
  /** The same in CPU time of this process (user + system): what the work costs, without the waits for a busy CPU. */
  cpuTime: Summary;
  /** The same, retrieval alone (MessageSearch). */
  searchTime: Summary;
  /**
   * Storing one message (MemoryStore.record, one transaction each, into a recall room of this
   * database) with the index kept (triggers and batches) and without, alternately in the same
   * process: what the index adds to ingest, in µs per message.
   */
  writeCost: { withIndexUs: number; withoutIndexUs: number; messages: number };
  messages: number;
  /** Pages of the full-text index's tables (dbstat), bytes; and per million messages. */
  indexBytes: number;
  indexBytesPerMillion: number;
  databaseBytes: number;
  /** Example, for the report: the deepest needle's fact and question. */
  example: { fact: string; question: string; depth: number } | null;
}

/**
 * The needle benchmark (issue 16): for each planted fact, the question is answered in its
 * room as PersonaResponder would build the prompt (gatherPromptMemory + buildPrompt, with
 * memory.context_tokens and memory.recall_messages), and the fact counts as recalled when the
 * assembled prompt contains it. The question is the newest message; the fact lies `depth`
 * messages before it. Times each assembly (repeated for the percentiles).
 */
export function runRecall(
  databasePath: string,
  world: World,
  config: Pick<BridgeConfig, 'memory'>,
  needles: Needle[],
  opts: { repeats: number },
): RecallResult {
  const db = openDatabase(databasePath);
  try {
    const memory = new MemoryStore(db);
    const search = new MessageSearch(db);
    const notes = new NoteStore(db);
    const deps = { memory, search, notes, contextTokens: config.memory.context_tokens, recallMessages: config.memory.recall_messages };
    const times: number[] = [];
    const cpuTimes: number[] = [];
    const searchTimes: number[] = [];
    const found = new Set<Needle>();
    // Warm-up: one pass over the questions, untimed (statement preparation, page cache).
    for (let pass = -1; pass < opts.repeats; pass++) {
      for (const needle of needles) {
        const room = world.room(needle.roomId)!;
        const persona = world.personas.find((p) => p.userId === room.personas[0])!;
        const human = room.humans[0]!;
        const scope: MemoryScope = { personaId: persona.userId, roomId: room.roomId, threadRoot: null };
        const started = performance.now();
        const cpuStarted = process.cpuUsage();
        const gathered = gatherPromptMemory(deps, scope, null, needle.question);
        const nameOf = (m: StoredMessage) => (m.sender === persona.userId ? persona.name : (world.displayName(m.sender) ?? m.displayName ?? m.sender));
        const toPrompt = (m: StoredMessage): PromptMessage => ({ id: m.id, sender: m.sender, name: nameOf(m), msgtype: m.msgtype, body: m.body });
        const humanName = world.displayName(human) ?? human;
        const history = [...gathered.history.map(toPrompt), { sender: human, name: humanName, msgtype: 'm.text', body: needle.question }];
        const built = buildPrompt({
          persona: { name: persona.name, userId: persona.userId, prompt: benchPersonaPrompt(persona.name), traits: BENCH_PERSONA_TRAITS },
          isDirect: true,
          participants: [world.displayName(human) ?? human],
          inThread: false,
          chapters: gathered.chapters,
          notes: gathered.notes,
          recalled: gathered.recalled.map((m) => ({ ...toPrompt(m), id: m.id, ts: m.ts })),
          maxRecalled: config.memory.recall_messages,
          history,
          // A character with depth: its lorebook and starred answers take their shares of the budget.
          lore: benchLore(history, persona.name, humanName),
          examples: BENCH_EXAMPLES,
          people: [{ name: humanName, text: 'A night-shift nurse who loves old films and strong tea.' }],
          budgetTokens: config.memory.context_tokens,
        });
        const elapsed = performance.now() - started;
        const cpu = process.cpuUsage(cpuStarted);
        const searchStarted = performance.now();
        search.recall(needle.question, { roomId: room.roomId, personaId: persona.userId }, config.memory.recall_messages * 3);
        const searchElapsed = performance.now() - searchStarted;
        if (pass < 0) continue;
        times.push(elapsed);
        cpuTimes.push((cpu.user + cpu.system) / 1000);
        searchTimes.push(searchElapsed);
        if (pass === 0 && built.messages.some((m) => m.content.includes(needle.answer))) found.add(needle);
      }
    }
    const edges = [100, 300, 1000, 3000, 10_000, 30_000, 100_001];
    const buckets = edges.slice(0, -1).map((from, i) => {
      const to = edges[i + 1]!;
      const inside = needles.filter((n) => n.depth >= from && n.depth < to);
      return { from, to, needles: inside.length, found: inside.filter((n) => found.has(n)).length };
    });
    const messages = (db.prepare('SELECT COUNT(*) AS n FROM memory_messages').get() as { n: number }).n;
    const indexBytes = (db.prepare("SELECT COALESCE(SUM(pgsize), 0) AS n FROM dbstat WHERE name LIKE 'memory_fts%'").get() as { n: number }).n;
    const databaseBytes = (db.prepare('SELECT COALESCE(SUM(pgsize), 0) AS n FROM dbstat').get() as { n: number }).n;
    const writeCost = measureWriteCost(db, needles[0]?.roomId ?? world.rooms[0]!.roomId);
    const deepest = needles.reduce<Needle | null>((d, n) => (!d || n.depth > d.depth ? n : d), null);
    return {
      needles: needles.length,
      found: found.size,
      recall: needles.length ? found.size / needles.length : Number.NaN,
      buckets: buckets.filter((b) => b.needles > 0),
      distractorsPerFact: DISTRACTORS_PER_FACT,
      recallMessages: config.memory.recall_messages,
      contextTokens: config.memory.context_tokens,
      time: summarize(times),
      cpuTime: summarize(cpuTimes),
      writeCost,
      searchTime: summarize(searchTimes),
      messages,
      indexBytes,
      indexBytesPerMillion: messages ? (indexBytes / messages) * 1_000_000 : Number.NaN,
      databaseBytes,
      example: deepest && { fact: deepest.fact, question: deepest.question, depth: deepest.depth },
    };
  } finally {
    db.close();
  }
}

/**
 * The index's cost per stored message: rounds of single-message transactions with the
 * index's triggers and without, alternating so both see the same machine load. The rows
 * written without the triggers are deleted without them too, leaving the index consistent.
 */
function measureWriteCost(db: Db, roomId: string, rounds = 10, perRound = 512): RecallResult['writeCost'] {
  // As the bridge stores messages: queued for the index, which indexes what was queued soon
  // after (one transaction of events' messages together; here a round's, timed with it).
  const index = new MessageIndex(db, () => undefined);
  const indexed = new MemoryStore(db, index);
  const bare = new MemoryStore(db);
  const triggers = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'memory_fts_%'").all() as Array<{ name: string; sql: string }>;
  const spent = { with: 0, without: 0 };
  let n = 0;
  const write = (memory: MemoryStore): number => {
    const started = performance.now();
    for (let i = 0; i < perRound; i++) {
      memory.record({ roomId, eventId: `$writecost${n++}`, sender: '@writecost:bench', displayName: null, msgtype: 'm.text', body: `write cost probe ${n} about the garden and the weather`, ts: Date.now(), threadRoot: null, fromPersona: false });
    }
    if (memory === indexed) index.flush();
    return performance.now() - started;
  };
  for (let round = 0; round < rounds; round++) {
    spent.with += write(indexed);
    for (const t of triggers) db.exec(`DROP TRIGGER ${t.name}`);
    try {
      const from = n;
      spent.without += write(bare);
      db.prepare("DELETE FROM memory_messages WHERE event_id LIKE '$writecost%' AND CAST(substr(event_id, 11) AS INTEGER) >= ?").run(from);
    } finally {
      for (const t of triggers) db.exec(t.sql);
    }
  }
  db.prepare("DELETE FROM memory_messages WHERE event_id LIKE '$writecost%'").run();
  const messages = rounds * perRound;
  return { withIndexUs: (spent.with / messages) * 1000, withoutIndexUs: (spent.without / messages) * 1000, messages };
}

/** The report's "Recall" section. */
export function renderRecall(out: string[], r: RecallResult): void {
  const pct = (n: number, d: number) => (d ? `${((n / d) * 100).toFixed(0)}%` : '–');
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  out.push('## 6. Recall', '');
  out.push(
    `A needle benchmark on the same database (${int(r.messages)} messages). ${r.needles} distinct facts were planted in the history ` +
      `of deep DMs (1 person + 1 persona) at depths from 100 to ${int(r.example?.depth ?? 0)} messages before the ` +
      `question, log-spaced; each fact's topic noun also occurs in ${r.distractorsPerFact} other messages of its room (distractors). ` +
      'Each question is phrased differently from its fact (it shares the topic noun, sometimes in another form, and at most one ' +
      'other word) and is answered as PersonaResponder builds a prompt: recent messages, chapters, notes and retrieval from the ' +
      `full-text index (FTS5 alone, no embeddings), fitted by PromptBuilder to memory.context_tokens (${r.contextTokens}) with ` +
      `memory.recall_messages = ${r.recallMessages}. A fact counts as recalled when the assembled prompt contains it.`,
    '',
  );
  if (r.example) out.push(`Deepest example (${int(r.example.depth)} messages back): fact "${r.example.fact}", question "${r.example.question}".`, '');
  out.push(`- **Recall: ${pct(r.found, r.needles)}** (${r.found} of ${r.needles})`, '');
  out.push('| depth (messages back) | facts | recalled | |', '|---|---:|---:|---:|');
  for (const b of r.buckets) out.push(`| ${int(b.from)}–${int(b.to - 1)} | ${b.needles} | ${b.found} | ${pct(b.found, b.needles)} |`);
  out.push('');
  out.push('| | samples | p50 | p90 | p99 | max |', '|---|---:|---:|---:|---:|---:|');
  out.push(`| **prompt assembly with retrieval** | ${int(r.time.count)} | ${ms(r.time.p50)} | ${ms(r.time.p90)} | ${ms(r.time.p99)} | ${ms(r.time.max)} |`);
  out.push(`| the same, CPU time | ${int(r.cpuTime.count)} | ${ms(r.cpuTime.p50)} | ${ms(r.cpuTime.p90)} | ${ms(r.cpuTime.p99)} | ${ms(r.cpuTime.max)} |`);
  out.push(`| retrieval alone (MessageSearch.recall) | ${int(r.searchTime.count)} | ${ms(r.searchTime.p50)} | ${ms(r.searchTime.p90)} | ${ms(r.searchTime.p99)} | ${ms(r.searchTime.max)} |`);
  out.push('');
  out.push(
    `Full-text index (the memory_fts tables, from dbstat): ${mb(r.indexBytes)} for ${int(r.messages)} messages, ` +
      `**${mb(r.indexBytesPerMillion)} per million messages**; the whole database is ${mb(r.databaseBytes)}. ` +
      'Ingest above already runs with the index kept: each message queued for it in its own transaction, and what was queued ' +
      'indexed together on the next turn of the event loop (a transaction of events at a time).',
    '',
  );
  const w = r.writeCost;
  out.push(
    `Storing a message, one transaction each as the bridge does (${int(w.messages)} of each, alternating, same process): ` +
      `**${w.withIndexUs.toFixed(0)} µs with the index, ${w.withoutIndexUs.toFixed(0)} µs without** (+${(w.withIndexUs - w.withoutIndexUs).toFixed(0)} µs per message).`,
    '',
  );
}
