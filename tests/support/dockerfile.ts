// A small reader of our Dockerfile and .dockerignore (no Docker engine runs here): stages,
// instructions, COPY arguments and Docker's ignore-pattern matching.
import { cpSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
export interface Instruction {
  keyword: string;
  args: string;
}
export interface Stage {
  name: string | null;
  base: string;
  instructions: Instruction[];
}

/** Instructions grouped by stage; continuation lines joined, comments dropped. */
export function parseDockerfile(text: string): Stage[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') {
      const [, base = '', name = null] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ name, base, instructions: [] });
    } else {
      stages.at(-1)!.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

/** A stage and the stages it is built FROM, nearest first. */
export function lineage(stages: Stage[], stage: Stage): Stage[] {
  const parent = stages.find((s) => s.name === stage.base);
  return parent ? [stage, ...lineage(stages, parent)] : [stage];
}

/** Instructions in effect for a stage: its ancestors' first. */
export const allInstructions = (stages: Stage[], stage: Stage): Instruction[] =>
  lineage(stages, stage)
    .reverse()
    .flatMap((s) => s.instructions);

export function copyParts(args: string): { from: string | null; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length) ?? null;
  const paths = words.filter((w) => !w.startsWith('--'));
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** Docker's pattern syntax (Go's filepath.Match plus `**`): `*` also matches names starting with a dot. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*' && pattern[i + 1] === '*') {
      // `**/` matches zero or more directories.
      re += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Docker's .dockerignore rules: last matching pattern wins; a pattern matching a parent directory matches. */
export function isIgnored(path: string, patterns: string[]): boolean {
  const clean = path.replace(/\/+$/, '');
  const parents = clean.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/\/+$/, '');
    if (parents.some((p) => globToRegExp(pattern).test(p))) ignored = !negated;
  }
  return ignored;
}


/** The runtime image laid out on the host: every absolute container path lives under `root`. */
export interface ImageOnHost {
  root: string;
  /** The host path of a container path. */
  host(containerPath: string): string;
  /** The container's final WORKDIR, on the host. */
  workdir: string;
  env: Record<string, string>;
  /** ENTRYPOINT followed by CMD, as the container runs it (container paths). */
  command: string[];
  /** The HEALTHCHECK's CMD (container paths), if any. */
  healthcheck: string[] | null;
}

export interface AssembleOptions {
  /** The build context (the repository). */
  context: string;
  dockerignore: string[];
  /** What earlier stages produce, by container path (e.g. '/app/dist'), as host paths. */
  stageOutputs: Record<string, string>;
  /** An empty host folder to play the container's "/". */
  root: string;
}

/**
 * Replays the final stage's filesystem instructions onto a host folder (COPY from the context
 * honouring .dockerignore, COPY --from a known stage output, WORKDIR, `RUN mkdir -p`), so the
 * image's own ENTRYPOINT/CMD can be run against that layout without a Docker engine. An
 * instruction this replay does not understand fails loudly rather than being skipped.
 */
export function assembleFinalStage(stages: Stage[], opts: AssembleOptions): ImageOnHost {
  const final = stages.at(-1)!;
  if (stages.some((s) => s.name === final.base)) throw new Error(`final stage is FROM another stage (${final.base}); extend assembleFinalStage`);
  const host = (containerPath: string): string => join(opts.root, containerPath);
  let cwd = '/';
  const env: Record<string, string> = {};
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  let healthcheck: string[] | null = null;
  for (const { keyword, args } of final.instructions) {
    switch (keyword) {
      case 'ENV':
        for (const [, key = '', value = ''] of args.matchAll(/(\w+)=(\S*)/g)) env[key] = value;
        break;
      case 'WORKDIR':
        cwd = posix.resolve(cwd, args);
        mkdirSync(host(cwd), { recursive: true });
        break;
      case 'COPY': {
        const { from, sources, dest } = copyParts(args);
        const target = posix.resolve(cwd, dest);
        const intoDir = dest.endsWith('/') || sources.length > 1;
        for (const source of sources) {
          if (from === null) {
            const path = join(opts.context, source);
            const to = statSync(path).isDirectory() ? host(target) : host(intoDir ? posix.join(target, posix.basename(source)) : target);
            cpSync(path, to, { recursive: true, filter: (file) => !isIgnored(relative(opts.context, file) || '.', opts.dockerignore) });
          } else {
            const output = opts.stageOutputs[source];
            if (!output) throw new Error(`COPY --from=${from} ${source}: unknown stage output; add it to stageOutputs`);
            mkdirSync(dirname(host(target)), { recursive: true });
            // node_modules is linked, not copied (too big); packages resolve from their real path
            // either way. Everything else is copied, so our code resolves from the image layout.
            if (posix.basename(source) === 'node_modules') symlinkSync(output, host(target));
            else cpSync(output, host(target), { recursive: true });
          }
        }
        break;
      }
      case 'RUN': {
        const mkdir = /^mkdir -p ((?:\/\S+\s*)+)(?:&&\s*chown \S+ (?:\/\S+\s*)+)?$/.exec(args);
        if (!mkdir) throw new Error(`RUN ${args}: not replayed by assembleFinalStage`);
        for (const dir of mkdir[1]!.trim().split(/\s+/)) mkdirSync(host(dir), { recursive: true });
        break;
      }
      case 'ENTRYPOINT':
        entrypoint = JSON.parse(args) as string[];
        break;
      case 'CMD':
        cmd = JSON.parse(args) as string[];
        break;
      case 'HEALTHCHECK':
        healthcheck = JSON.parse(args.slice(args.indexOf('CMD') + 3).trim()) as string[];
        break;
      case 'USER':
      case 'VOLUME':
      case 'EXPOSE':
      case 'LABEL':
        break;
      default:
        throw new Error(`${keyword} ${args}: not replayed by assembleFinalStage`);
    }
  }
  return { root: opts.root, host, workdir: host(cwd), env, command: [...entrypoint, ...cmd], healthcheck };
}

/** A container command as a host command: `node` is this Node, absolute paths move under the image root. */
export function onHost(image: ImageOnHost, command: string[]): { file: string; args: string[] } {
  const [program, ...args] = command;
  if (program !== 'node') throw new Error(`expected a node command, got ${command.join(' ')}`);
  return { file: process.execPath, args: args.map((a) => (a.startsWith('/') ? image.host(a) : a)) };
}
