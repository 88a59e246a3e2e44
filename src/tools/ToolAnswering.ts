import type { Completion, CompletionRequest } from '../llm/LlmClient.js';
import { getLogger } from '../logging.js';
import type { Persona } from '../personas/Persona.js';
import { toolsUnavailableNote } from './messages.js';
import type { ToolCatalog } from './ToolCatalog.js';
import type { ToolLoop, UsedTool } from './ToolLoop.js';
import type { ToolRunStore } from './ToolRunStore.js';

const log = getLogger('ToolAnswering');

/** One answer, as the responder describes it. */
export interface ToolAnswer {
  persona: Persona;
  roomId: string;
  /** Who the answer is for (they approve). */
  requester: string;
  /** The person whose budget (rate limit, daily cap) the answer's rounds of tools count against; null: nobody's. */
  chargedTo: string | null;
  threadRootId: string | null;
  isDirect: boolean;
  /** The message answered. */
  eventId: string;
  /** Regenerating: the tools run again. */
  fresh: boolean;
  progress?: (text: string) => void;
  postApproval(text: string): Promise<string>;
}

/** A completion, with what tools gave to it. */
export interface ToolCompletion extends Completion {
  /** The compact note of the tools used, to keep with the answer (none used: absent). */
  toolNote?: string;
  /** The tools' results: text that is data, whose mentions must not ping anyone. */
  toolTexts: string[];
}

export interface ToolAnsweringDeps {
  catalog: Pick<ToolCatalog, 'offer'>;
  loop: Pick<ToolLoop, 'run'>;
  llm: { complete(request: CompletionRequest): Promise<Completion> };
  notes?: Pick<ToolRunStore, 'saveNote' | 'notes'>;
  /** Before each further round of tools: false ends them (the person's rate limit, usage caps). */
  mayContinue?: (personaId: string, userId: string | null) => boolean;
}

/** The note kept with an answer: at most this long, each result shortened to a line. */
const NOTE_CHARS = 1000;
const NOTE_RESULT_CHARS = 200;
const NOTE_ARGUMENT_CHARS = 120;
/** How a kept note starts in a later prompt (and what a model imitating it is cleaned of). */
export const NOTE_PREFIX = '(tools used:';

/**
 * The responder's one entry to tools: answers with the persona's tools when it has any that
 * are available (the tool loop), plainly otherwise; says once per persona and model when the
 * model's server refuses tools; keeps a compact note of the tools behind each answer for
 * later prompts.
 */
export class ToolAnswering {
  /** `persona|model` told that the model cannot use tools (once per run). */
  private readonly told = new Set<string>();

  constructor(private readonly deps: ToolAnsweringDeps) {}

  async complete(request: CompletionRequest, answer: ToolAnswer): Promise<ToolCompletion> {
    const offer = this.deps.catalog.offer(answer.persona.tools);
    if (!offer) return { ...(await this.deps.llm.complete(request)), toolTexts: [] };
    const { persona } = answer;
    const { completion, used } = await this.deps.loop.run({
      request,
      offer,
      key: { personaId: persona.userId, eventId: answer.eventId },
      context: {
        personaId: persona.userId,
        personaName: persona.name,
        roomId: answer.roomId,
        requester: answer.requester,
        threadRootId: answer.threadRootId,
        isDirect: answer.isDirect,
        eventId: answer.eventId,
      },
      fresh: answer.fresh,
      mayContinue: () => this.deps.mayContinue?.(persona.userId, answer.chargedTo) ?? true,
      ...(answer.progress ? { progress: answer.progress } : {}),
      postApproval: answer.postApproval,
    });
    let text = stripImitatedNote(completion.text);
    if (completion.toolsRefused) {
      const key = `${persona.userId}|${completion.backend ?? ''}/${completion.model}`;
      if (!this.told.has(key)) {
        this.told.add(key);
        log.warn(`${persona.name} answers without its tools: ${completion.model} refuses them (${completion.toolsRefused})`);
        text = `${text}\n\n${toolsUnavailableNote()}`;
      }
    }
    const note = used.length ? toolNote(used) : undefined;
    return { ...completion, text, ...(note ? { toolNote: note } : {}), toolTexts: used.map((u) => u.result) };
  }

  keepNote(answerEventId: string, note: string): void {
    this.deps.notes?.saveNote(answerEventId, note);
  }

  /** The notes kept with these answers. */
  notes(answerEventIds: readonly string[]): Map<string, string> {
    return this.deps.notes?.notes(answerEventIds) ?? new Map();
  }
}

/** `(tools used: weather/get_forecast {"city":"Paris"} → Forecast for Paris: sunny; …)` */
export function toolNote(used: readonly UsedTool[]): string {
  const parts = used.map((u) => {
    const args = oneLine(u.arguments, NOTE_ARGUMENT_CHARS);
    return `${u.tool} ${args || '{}'} → ${u.isError ? 'failed: ' : ''}${oneLine(u.result, NOTE_RESULT_CHARS)}`;
  });
  const note = `${NOTE_PREFIX} ${parts.join('; ')})`;
  return note.length > NOTE_CHARS ? `${note.slice(0, NOTE_CHARS - 2)}…)` : note;
}

/** A persona's earlier answer as its next prompt shows it: the note of its tools first. */
export function withToolNote(body: string, note: string | undefined): string {
  return note ? `${note}\n${body}` : body;
}

/** A model that copies the note format from its history must not show it to the room. */
function stripImitatedNote(text: string): string {
  if (!text.startsWith(NOTE_PREFIX)) return text;
  const end = text.indexOf(')\n');
  return end < 0 ? text : text.slice(end + 2).trimStart();
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
