import { foldName } from '../util/nameFolding.js';

/**
 * Tab completion for the admin console: command words first (`per` -> `persona`, `persona s`
 * -> `persona show`, `persona spawn`), then persona names as arguments (quoted when they have
 * spaces, so the completed line splits back into the same name).
 */
export function completeLine(line: string, commands: readonly string[], personas: readonly string[]): [string[], string] {
  const endsWithSpace = /\s$/.test(line);
  const words = line.trim().length ? line.trim().split(/\s+/) : [];
  const partial = endsWithSpace ? '' : (words.pop() ?? '');
  const typed = words.map((w) => w.toLowerCase());

  // Still inside a command's words?
  const nextWords = new Set<string>();
  for (const command of commands) {
    const parts = command.split(' ');
    if (parts.length > typed.length && typed.every((w, i) => parts[i] === w)) nextWords.add(parts[typed.length]!);
  }
  const commandHits = [...nextWords].filter((w) => w.startsWith(partial.toLowerCase())).sort();
  if (commandHits.length > 0) return [commandHits.map((w) => `${w} `), partial];

  // After a whole command: persona names, matched without quotes, case or accents (zo -> Zoë).
  const isCommand = commands.some((c) => typed.join(' ').startsWith(c) && typed.length >= c.split(' ').length);
  if (!isCommand) return [[], partial];
  const bare = foldName(partial.replace(/^["']/, ''));
  const hits = personas.filter((p) => foldName(p).startsWith(bare)).sort((a, b) => a.localeCompare(b));
  return [hits.map((p) => (/[\s"'\\]/.test(p) ? `"${p.replace(/(["\\])/g, '\\$1')}" ` : `${p} `)), partial];
}

/** Quotes command-line words from a shell (already split) so the bridge splits them back the same way. */
export function joinArgs(words: readonly string[]): string {
  return words.map((w) => (w === '' || /[\s"'\\“”‘’]/.test(w) ? `"${w.replace(/(["\\])/g, '\\$1')}"` : w)).join(' ');
}
