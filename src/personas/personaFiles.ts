import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ajvKeyPath, describeAjvError } from '../config/ajvErrors.js';
import { personaFileSchema, type PersonaFileDefinition } from './personaSchema.js';
import { describeError } from '../util/describeError.js';

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile<PersonaFileDefinition>(personaFileSchema);

export interface PersonaFile {
  /** File name within the directory, e.g. `ada.yaml`. */
  file: string;
  /** Directory the file is in: relative avatar paths resolve against it. */
  dir: string;
  definition: PersonaFileDefinition;
  /** Digest of the definition (not the text), so comments and formatting do not count as changes. */
  digest: string;
}

export interface PersonaFileProblem {
  file: string;
  /** Each names the key path, e.g. `rooms[0]: has an invalid format ...`. */
  errors: string[];
}

export interface PersonaFiles {
  files: PersonaFile[];
  problems: PersonaFileProblem[];
}

function describe(error: ErrorObject): string {
  switch (error.keyword) {
    case 'additionalProperties':
      return `unknown key (known keys: ${Object.keys(personaFileSchema.properties).join(', ')})`;
    case 'pattern':
      if (error.instancePath === '/id') return "may only contain a-z, 0-9, '.', '_', '=' and '-'";
      if (error.instancePath.startsWith('/tools')) return 'must be server/tool or server/*';
      return 'must be a room ID (!id:server) or alias (#alias:server)';
    default:
      return describeAjvError(error);
  }
}

/** Canonical JSON (sorted keys) so that key order in the YAML does not change the digest. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Parses and validates one persona file's text. */
export function parsePersonaFile(text: string, file: string, dir: string): PersonaFile | PersonaFileProblem {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    // The yaml library's first line already says where ("... at line 2, column 1:").
    let message = describeError(err).split('\n')[0]!.replace(/:$/, '');
    if (err instanceof YAMLParseError && err.linePos && !/ at line \d+/.test(message)) message += ` at line ${err.linePos[0].line}`;
    return { file, errors: [`not valid YAML: ${message}`] };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { file, errors: ['(root): must be a mapping with at least name and prompt'] };
  }
  if (!validate(raw)) {
    return { file, errors: (validate.errors ?? []).map((e) => `${ajvKeyPath(e)}: ${describe(e)}`) };
  }
  const definition = raw;
  return { file, dir, definition, digest: createHash('sha256').update(canonical(definition)).digest('hex') };
}

/**
 * Reads every `*.yaml` / `*.yml` in the directory, in name order. A bad file becomes a
 * problem naming the file and the key path; the good ones are returned regardless. A missing
 * directory just means no seed personas.
 */
export function loadPersonaFiles(dir: string): PersonaFiles {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => /\.ya?ml$/i.test(f)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { files: [], problems: [] };
    return { files: [], problems: [{ file: dir, errors: [`cannot read the persona directory: ${describeError(err)}`] }] };
  }
  const files: PersonaFile[] = [];
  const problems: PersonaFileProblem[] = [];
  const seen = new Map<string, string>();
  for (const file of names) {
    let text: string;
    try {
      text = readFileSync(join(dir, file), 'utf8');
    } catch (err) {
      problems.push({ file, errors: [`cannot read: ${describeError(err)}`] });
      continue;
    }
    const result = parsePersonaFile(text, file, dir);
    if ('errors' in result) {
      problems.push(result);
      continue;
    }
    const key = result.definition.name.toLowerCase();
    const earlier = seen.get(key);
    if (earlier) {
      problems.push({ file, errors: [`name: '${result.definition.name}' is already defined in ${earlier}`] });
      continue;
    }
    seen.set(key, file);
    files.push(result);
  }
  return { files, problems };
}
