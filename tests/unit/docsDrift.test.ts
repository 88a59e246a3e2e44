// Docs that cannot drift from the code: the config schema, config.sample.yaml (which documents
// every key, commented-out ones too) and the keys the docs name; and the command table and
// the user guide, which lists every command with its usage. Each failure says what is missing
// and where to add it.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AppServiceRegistration } from 'matrix-appservice-bridge';
import { parse as parseYaml } from 'yaml';
import { compose } from '../../src/app/compose.js';
import type { Command } from '../../src/commands/CommandTable.js';
import { validateConfig } from '../../src/config/Config.js';
import { configSchema } from '../../src/config/schema.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  default?: unknown;
  type?: string | readonly string[];
}

/** Every key path of the schema; `*` stands for any name in a map (llm.backends.*.model). */
function schemaPaths(node: SchemaNode, prefix = ''): Map<string, SchemaNode> {
  const paths = new Map<string, SchemaNode>();
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix + key;
    paths.set(path, child);
    for (const [p, n] of schemaPaths(child, `${path}.`)) paths.set(p, n);
  }
  if (typeof node.additionalProperties === 'object') {
    const path = `${prefix}*`;
    paths.set(path, node.additionalProperties);
    for (const [p, n] of schemaPaths(node.additionalProperties, `${path}.`)) paths.set(p, n);
  }
  return paths;
}

/** Which schema path a concrete key path is (map entries become `*`), or null if none. */
function schemaPathOf(keyPath: string[], schema: Map<string, SchemaNode>): string | null {
  let path = '';
  for (const key of keyPath) {
    // `runtime.*` in prose: every key of a section.
    if (key === '*' && [...schema.keys()].some((p) => p.startsWith(`${path}.`))) return `${path}.*`;
    const named = path ? `${path}.${key}` : key;
    const any = path ? `${path}.*` : '*';
    if (schema.has(named)) path = named;
    else if (schema.has(any)) path = any;
    else return null;
  }
  return path;
}

/**
 * config.sample.yaml with its commented-out keys uncommented: a comment line that is a YAML
 * key (`  # context: 8192`, `  #   local:`) becomes one at the indentation it shows; prose
 * comments are dropped. Each key keeps the line it came from, for the messages.
 */
function sampleWithCommentedKeys(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const commented = /^(\s*)# ?(\s*)([a-z_][a-z0-9_]*:(?:\s.*)?)$/.exec(line);
      if (commented) return `${commented[1]}${commented[2]}${commented[3]}`;
      return /^\s*#/.test(line) ? '' : line;
    })
    .join('\n');
}

/** Key paths of a parsed YAML tree, with each leaf's value. */
function yamlPaths(value: unknown, prefix: string[] = []): { path: string[]; value: unknown }[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [{ path: prefix, value }];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [{ path: [...prefix, k], value: v }, ...yamlPaths(v, [...prefix, k]).filter((e) => e.path.length > prefix.length + 1)]);
}

const FILE_EXTENSIONS = /\.(ya?ml|json|db|sock|ts|js|md|log|sql|png)$/;

const schema = schemaPaths(configSchema as unknown as SchemaNode);
const topLevelKeys = new Set(Object.keys(configSchema.properties));

describe('config.sample.yaml and the schema (src/config/schema.ts)', () => {
  const sampleText = read('config.sample.yaml');
  const uncommented = yamlPaths(parseYaml(sampleWithCommentedKeys(sampleText)) as unknown);
  const active = yamlPaths(parseYaml(sampleText) as unknown);
  const sampleSchemaPaths = new Set(uncommented.map((e) => schemaPathOf(e.path, schema)));

  test('every schema key is in the sample (commented out when it has no default)', () => {
    const missing = [...schema.keys()].filter((path) => !sampleSchemaPaths.has(path));
    const advice = missing.map((path) => {
      const parent = path.split('.').slice(0, -1).join('.') || '(the top level)';
      return `- '${path}' is in src/config/schema.ts but not in config.sample.yaml: add it under '${parent}' with a comment saying what it does (as '# ${path.split('.').pop()}: ...' if it has no default)`;
    });
    expect(advice.join('\n')).toBe('');
  });

  test('every key in the sample (commented out or not) is in the schema', () => {
    const unknown = uncommented.filter((e) => schemaPathOf(e.path, schema) === null).map(
        (e) =>
          `- '${e.path.join('.')}' in config.sample.yaml is not a key of src/config/schema.ts: remove it or add it to the schema (a prose comment that starts with a lowercase word and a colon reads as a commented-out key: reword it)`,
      );
    expect(unknown.join('\n')).toBe('');
  });

  test('each key the sample sets shows the schema default', () => {
    const defaults = validateConfig(parseYaml(sampleText)) as unknown as Record<string, unknown>;
    const wrong = active
      .filter((e) => e.path.length > 1 && e.path[0] !== 'homeserver' && e.path[0] !== 'llm')
      .flatMap((e) => {
        const node = schema.get(schemaPathOf(e.path, schema) ?? '');
        if (node?.default === undefined || typeof node.default === 'object') return [];
        return node.default === e.value ? [] : [`- '${e.path.join('.')}': the sample says ${JSON.stringify(e.value)}, the schema's default is ${JSON.stringify(node.default)}`];
      });
    expect(defaults).toBeTruthy();
    expect(wrong.join('\n')).toBe('');
  });
});

describe('config keys named in the docs', () => {
  const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) => f.endsWith('.md'));

  test('every `section.key` the docs name is a key of the schema', () => {
    const wrong: string[] = [];
    for (const file of docs) {
      read(file)
        .split('\n')
        .forEach((line, i) => {
          for (const match of line.matchAll(/`([a-z_]+(?:\.[a-z0-9_*]+)+)`/g)) {
            const path = match[1]!.split('.');
            // File names (`homeserver.yaml`, `admin.sock`) are not keys.
            if (!topLevelKeys.has(path[0]!) || FILE_EXTENSIONS.test(match[1]!)) continue;
            if (schemaPathOf(path, schema) === null) wrong.push(`- ${file}:${i + 1} names \`${match[1]}\`, which is not a key of src/config/schema.ts`);
          }
        });
    }
    expect(wrong.join('\n')).toBe('');
  });
});

describe('the user guide (docs/user-guide.md) and the command table', () => {
  let commands: readonly Command[] = [];
  let prefix = '!';
  let dir: string;

  beforeAll(async () => {
    // The table as the bridge builds it (src/app/compose.ts), not a copy of it.
    dir = mkdtempSync(join(tmpdir(), 'personas-docs-'));
    const config = validateConfig({
      homeserver: { url: 'http://127.0.0.1:1', domain: 'localhost' },
      admins: [],
      llm: { base_url: 'http://127.0.0.1:1/v1', model: 'm' },
      database: { path: join(dir, 'personas.db') },
      personas: { directory: dir },
      metrics: { enabled: false },
    });
    const registration = AppServiceRegistration.fromObject({
      id: 'docs',
      hs_token: 'hs',
      as_token: 'as',
      url: null,
      sender_localpart: 'personas',
      namespaces: { users: [{ exclusive: true, regex: '@persona_.*:localhost' }], rooms: [], aliases: [] },
    });
    const app = compose({ config, registration });
    commands = app.services.commands.list();
    prefix = app.services.commands.prefix;
    app.services.db.close();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Markdown tables escape the `|` of alternatives.
  const guide = (): string => read('docs/user-guide.md').replace(/\\\|/g, '|');

  test('lists every command with its usage', () => {
    const text = guide();
    const missing = commands
      .map((c) => `${prefix}${c.name}${c.usage ? ` ${c.usage}` : ''}`)
      .filter((usage) => !text.includes(`\`${usage}\``))
      .map((usage) => `- \`${usage}\` (as the command's usage says, in backticks) is not in docs/user-guide.md: add it to the table of its section under "All commands"`);
    expect(commands.length).toBeGreaterThan(20);
    expect(missing.join('\n')).toBe('');
  });
});

describe('docs/architecture.md and src/', () => {
  const architecture = read('docs/architecture.md');

  test('names every folder of src/', () => {
    const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true }).filter((d) => d.isDirectory());
    const missing = folders
      .filter((d) => !architecture.includes(`\`${d.name}/\``))
      .map((d) => `- src/${d.name}/ is not in docs/architecture.md: add a row \`${d.name}/\` to the Folders table saying what it holds`);
    expect(missing.join('\n')).toBe('');
  });

  test('names every pipeline step', () => {
    const sources = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    const steps = sources.flatMap((file) => [...read(join('src', file)).matchAll(/class (\w+) implements EventStep\b/g)].map((m) => ({ file, name: m[1]! })));
    const missing = steps
      .filter((s) => !architecture.includes(s.name))
      .map((s) => `- ${s.name} (src/${s.file}) is a pipeline step not named in docs/architecture.md: add it to "One inbound message", step 3, where it runs`);
    expect(steps.length).toBeGreaterThan(5);
    expect(missing.join('\n')).toBe('');
  });
});

describe('the guides’ contents lists', () => {
  test.each(['docs/admin-guide.md', 'docs/user-guide.md'])('%s lists every section', (file) => {
    const text = read(file);
    const missing = text
      .split('\n')
      .filter((line) => line.startsWith('## '))
      .map((line) => line.slice(3))
      .filter((title) => !text.includes(`- [${title}](#`))
      .map((title) => `- "${title}" is a section of ${file} missing from the contents list at its top: add "- [${title}](#...)"`);
    expect(missing.join('\n')).toBe('');
  });
});
