import { createHash } from 'node:crypto';

/** What OpenAI (and most OpenAI-compatible servers) accept as a function name. */
export const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_FUNCTION_NAME = 64;
/** Between the server and the tool in a function name: `weather/get_forecast` -> `weather__get_forecast`. */
const SEPARATOR = '__';

/** `server/tool`: how admins and allow-lists name a tool. */
export function qualifiedName(server: string, tool: string): string {
  return `${server}/${tool}`;
}

/** Splits `server/tool` at its first slash (tool names may contain more). */
export function splitQualified(qualified: string): { server: string; tool: string } {
  const slash = qualified.indexOf('/');
  return { server: qualified.slice(0, slash), tool: qualified.slice(slash + 1) };
}

/**
 * The function names of one offer of tools and the way back. MCP tool names may hold dots,
 * slashes or anything else and be long; function names may not: each tool gets a readable
 * name (`server__tool`, other characters as `_`), shortened with a hash of the full name when
 * it is too long, and made unique with the hash when two tools would meet on one name.
 */
export class ToolNameMap {
  private readonly byFunction = new Map<string, string>();
  private readonly byQualified = new Map<string, string>();

  constructor(qualifiedNames: Iterable<string>) {
    for (const qualified of qualifiedNames) {
      if (this.byQualified.has(qualified)) continue;
      let name = readableName(qualified);
      if (this.byFunction.has(name)) name = withHash(name, qualified);
      this.byFunction.set(name, qualified);
      this.byQualified.set(qualified, name);
    }
  }

  functionName(qualified: string): string | undefined {
    return this.byQualified.get(qualified);
  }

  /** The tool a function name the model used stands for; undefined for a name never offered. */
  qualified(functionName: string): string | undefined {
    return this.byFunction.get(functionName);
  }
}

function readableName(qualified: string): string {
  const { server, tool } = splitQualified(qualified);
  const name = `${server}${SEPARATOR}${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_');
  return name.length <= MAX_FUNCTION_NAME ? name : withHash(name, qualified);
}

/** The name cut to leave room for `_` and 8 hex digits of the full name's hash. */
function withHash(name: string, qualified: string): string {
  const hash = createHash('sha256').update(qualified).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_FUNCTION_NAME - hash.length - 1)}_${hash}`;
}
