/**
 * Character Card V3 decorators: lines at the start of an entry's content such as
 * `@@activate` or `@@scan_depth 4`. A line starting with `@@@` is a fallback, considered only
 * when the decorator above it is not one we know (the spec's chain). The decorators are cut
 * from the content that goes into the prompt.
 */
export interface Decorators {
  /** `@@activate`: called up whatever the keys say. */
  activate: boolean;
  /** `@@dont_activate`: never called up (unless `@@activate`). */
  dontActivate: boolean;
  /** `@@scan_depth N`: keys looked for in the last N messages, whatever the book says. */
  scanDepth?: number;
}

/** The decorators we act on; any other is ignored, and its fallbacks tried instead. */
const KNOWN = new Set(['activate', 'dont_activate', 'scan_depth']);

export function parseDecorators(content: string): { decorators: Decorators; content: string } {
  const decorators: Decorators = { activate: false, dontActivate: false };
  if (!content.startsWith('@@')) return { decorators, content };
  const lines = content.split('\n');
  const seen = new Set<string>();
  // A fallback line applies only while the decorator it falls back from was not understood.
  let fallingBack = false;
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line.startsWith('@@')) break;
    const isFallback = line.startsWith('@@@');
    if (isFallback && !fallingBack) continue;
    const [name = '', ...rest] = line.replace(/^@@@?/, '').split(/\s+/);
    const value = rest.join(' ').trim();
    if (!KNOWN.has(name) || (name === 'scan_depth' && !isDepth(value))) {
      fallingBack = true;
      continue;
    }
    fallingBack = false;
    // Only the first decorator of a name counts (the spec).
    if (seen.has(name)) continue;
    seen.add(name);
    if (name === 'activate') decorators.activate = true;
    else if (name === 'dont_activate') decorators.dontActivate = true;
    else decorators.scanDepth = Number(value);
  }
  return { decorators, content: lines.slice(i).join('\n').replace(/^\n+/, '') };
}

const isDepth = (value: string): boolean => /^\d+$/.test(value);
