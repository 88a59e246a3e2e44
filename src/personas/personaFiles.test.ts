import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadPersonaFiles, parsePersonaFile } from './personaFiles.js';
import { personaFileSchema } from './personaSchema.js';

const SHIPPED_DIR = resolve(import.meta.dirname, '..', '..', 'personas');

function errorsOf(text: string): string[] {
  const result = parsePersonaFile(text, 'x.yaml', '/d');
  if (!('errors' in result)) throw new Error('expected the file to be rejected');
  return result.errors;
}

describe('persona files', () => {
  test('a good file with every field', () => {
    const result = parsePersonaFile(
      'name: Ada\nprompt: You are Ada.\ntraits: { openness: 0.8 }\nmodel: m\ntemperature: 0.5\navatar: a.png\nrooms: ["#a:hs", "!b:hs"]\n',
      'ada.yaml',
      '/d',
    );
    expect(result).toMatchObject({
      file: 'ada.yaml',
      dir: '/d',
      definition: { name: 'Ada', prompt: 'You are Ada.', traits: { openness: 0.8 }, model: 'm', temperature: 0.5, avatar: 'a.png', rooms: ['#a:hs', '!b:hs'] },
    });
  });

  test.each([
    ['prompt: p\n', 'name: is required but missing'],
    ['name: Ada\nprompt: p\ntemprature: 1\n', 'temprature: unknown key (known keys: name, id, prompt, traits, model, temperature, avatar, tools, voice, voice_replies, rooms)'],
    ['name: Ada\nid: Ada Lovelace\nprompt: p\n', "id: may only contain a-z, 0-9, '.', '_', '=' and '-'"],
    ['name: Ada\nprompt: p\nrooms: ["#ok:hs", "lounge"]\n', 'rooms[1]: must be a room ID (!id:server) or alias (#alias:server)'],
    ['name: Ada\nprompt: p\ntemperature: hot\n', 'temperature: must be of type number'],
    ['name: Ada\nprompt: p\ntraits: [a, b]\n', 'traits: must be of type object'],
    ['- a list\n', '(root): must be a mapping with at least name and prompt'],
  ])('%j is rejected with the key path', (text, error) => {
    expect(errorsOf(text)).toContain(error);
  });

  test('invalid YAML names the line', () => {
    expect(errorsOf('name: Ada\nname: Bob\nprompt: p\n')).toEqual(['not valid YAML: Map keys must be unique at line 2, column 1']);
  });

  test('the digest ignores formatting and key order but not content', () => {
    const digest = (text: string) => (parsePersonaFile(text, 'x.yaml', '/d') as { digest: string }).digest;
    expect(digest('name: Ada\nprompt: p\n')).toBe(digest('# comment\nprompt: "p"\nname:   Ada\n'));
    expect(digest('name: Ada\nprompt: p\n')).not.toBe(digest('name: Ada\nprompt: q\n'));
  });

  test('a directory: good files load, bad and duplicate ones are reported, other files ignored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'personas-'));
    writeFileSync(join(dir, 'a.yaml'), 'name: Ada\nprompt: p\n');
    writeFileSync(join(dir, 'b.yml'), 'name: ADA\nprompt: p\n');
    writeFileSync(join(dir, 'c.yaml'), 'name: Cy\n');
    writeFileSync(join(dir, 'notes.txt'), 'not a persona');
    const { files, problems } = loadPersonaFiles(dir);
    expect(files.map((f) => f.file)).toEqual(['a.yaml']);
    expect(problems).toEqual([
      { file: 'b.yml', errors: ["name: 'ADA' is already defined in a.yaml"] },
      { file: 'c.yaml', errors: ['prompt: is required but missing'] },
    ]);
  });

  test('a missing directory means no seed personas', () => {
    expect(loadPersonaFiles(join(tmpdir(), 'does-not-exist-personas'))).toEqual({ files: [], problems: [] });
  });

  test('the shipped example personas are valid', () => {
    const { files, problems } = loadPersonaFiles(SHIPPED_DIR);
    expect(problems).toEqual([]);
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  test('the shipped JSON schema is the one the bridge validates with', () => {
    expect(JSON.parse(readFileSync(join(SHIPPED_DIR, 'persona.schema.json'), 'utf8'))).toEqual(personaFileSchema);
  });
});
