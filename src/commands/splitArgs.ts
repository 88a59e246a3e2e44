export class ArgumentError extends Error {
  override name = 'ArgumentError';
}

/**
 * Splits a command line like a POSIX shell would for our purposes: whitespace separates,
 * single or double quotes group (also curly quotes, which phone keyboards insert),
 * backslash escapes the next character outside single quotes.
 */
export function splitArgs(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inToken = false;
  let quote: string | null = null;
  const closing: Record<string, string> = { '"': '"', "'": "'", '“': '”', '‘': '’' };
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === closing[quote]) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) current += line[++i];
      else current += ch;
    } else if (ch in closing) {
      quote = ch;
      inToken = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      current += line[++i];
      inToken = true;
    } else if (/\s/.test(ch)) {
      if (inToken) args.push(current);
      current = '';
      inToken = false;
    } else {
      current += ch;
      inToken = true;
    }
  }
  if (quote) throw new ArgumentError(`unclosed quote ${quote}`);
  if (inToken) args.push(current);
  return args;
}
