import type { ToolDefinition } from '../llm/toolCalls.js';
import { allows, mostSpecific } from './allowList.js';
import type { ToolServerStatus, ToolSource, ToolSpec } from './Tool.js';
import { ToolNameMap } from './toolNames.js';

/** The tools one answer may call: what the model is offered, and the way back from its names. */
export interface ToolOffer {
  definitions: ToolDefinition[];
  names: ToolNameMap;
  /** By `server/tool`. */
  specs: Map<string, ToolSpec>;
}

export type ApprovalRule = 'required' | 'never';

export interface ApprovalRules {
  /** Per server (tools.mcp_servers[].approval). */
  servers: Readonly<Record<string, ApprovalRule>>;
  /** `server/tool` or `server/*` (tools.approval), over the server's rule. */
  patterns: Readonly<Record<string, ApprovalRule>>;
}

/** Tools offered per answer at most (beyond it, the model's prompt would be mostly schemas). */
const MAX_OFFERED = 128;

/**
 * Every tool source (MCP servers, built-in tools) under its server name, and what a persona
 * is offered: exactly the tools its allow-list names that are available now, nothing else.
 */
export class ToolCatalog {
  private readonly sources = new Map<string, ToolSource>();

  constructor(
    sources: readonly ToolSource[],
    private readonly approval: ApprovalRules = { servers: {}, patterns: {} },
  ) {
    for (const source of sources) this.sources.set(source.server, source);
  }

  source(server: string): ToolSource | undefined {
    return this.sources.get(server);
  }

  serverNames(): string[] {
    return [...this.sources.keys()];
  }

  /** The offer for an allow-list; null when it allows nothing available. */
  offer(allowList: readonly string[] | undefined): ToolOffer | null {
    if (!allowList?.length) return null;
    const specs = new Map<string, ToolSpec>();
    for (const source of this.sources.values()) {
      if (!allowList.some((p) => p === `${source.server}/*` || p.startsWith(`${source.server}/`))) continue;
      for (const spec of source.tools()) {
        if (specs.size >= MAX_OFFERED) break;
        if (allows(allowList, spec.qualified)) specs.set(spec.qualified, spec);
      }
    }
    if (specs.size === 0) return null;
    const names = new ToolNameMap(specs.keys());
    const definitions: ToolDefinition[] = [...specs.values()].map((spec) => ({
      type: 'function',
      function: { name: names.functionName(spec.qualified)!, description: spec.description, parameters: objectSchema(spec.parameters) },
    }));
    return { definitions, names, specs };
  }

  needsApproval(qualified: string): boolean {
    const rule = mostSpecific(this.approval.patterns, qualified) ?? this.approval.servers[qualified.slice(0, qualified.indexOf('/'))];
    return rule === 'required';
  }

  status(): ToolServerStatus[] {
    return [...this.sources.values()].map((s) => s.status());
  }
}

/** OpenAI wants an object schema for parameters; a tool that declares none takes no arguments. */
function objectSchema(schema: Record<string, unknown>): Record<string, unknown> {
  if (schema && typeof schema === 'object' && schema.type === 'object') return schema;
  return { type: 'object', properties: {} };
}
