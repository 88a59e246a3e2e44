import { splitQualified } from './toolNames.js';

/**
 * Which tools a persona may call: `server/tool` or `server/*` entries. Nothing by default.
 * The same patterns name tools in `tools.approval`.
 */
export type AllowList = readonly string[];

/** A server name (as in tools.mcp_servers) and a tool name or `*`. */
const ENTRY = /^[A-Za-z0-9_.-]{1,32}\/(\*|[^\s*]{1,128})$/;

/** Why an allow-list entry is malformed, or null. */
export function allowEntryProblem(entry: string): string | null {
  return ENTRY.test(entry) ? null : `'${entry}' is not server/tool or server/*`;
}

/**
 * `none`, or entries separated by commas or spaces, as typed in `!persona set <Name> tools`.
 * Throws with what is wrong.
 */
export function parseAllowList(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === 'none' || trimmed === '') return [];
  const entries = [...new Set(trimmed.split(/[\s,]+/).filter(Boolean))];
  const problems = entries.map(allowEntryProblem).filter((p): p is string => p !== null);
  if (problems.length) throw new Error(problems.join('; '));
  return entries;
}

/** True when a pattern names this tool: exactly, or `server/*`. */
export function patternMatches(pattern: string, qualified: string): boolean {
  if (pattern === qualified) return true;
  if (!pattern.endsWith('/*')) return false;
  return splitQualified(qualified).server === pattern.slice(0, -2);
}

export function allows(list: AllowList | null | undefined, qualified: string): boolean {
  return (list ?? []).some((pattern) => patternMatches(pattern, qualified));
}

/** The value of the most specific pattern that names the tool (`server/tool` over `server/*`). */
export function mostSpecific<T>(patterns: Readonly<Record<string, T>>, qualified: string): T | undefined {
  if (qualified in patterns) return patterns[qualified];
  const server = `${splitQualified(qualified).server}/*`;
  return patterns[server];
}
