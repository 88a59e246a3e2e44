// No Docker engine runs here, so the Dockerfile, .dockerignore and the compose example are
// checked for what can go wrong without one: files copied that are missing or ignored, an
// entry point that is not the build's output, root, a port or paths that disagree with the
// config defaults.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { allInstructions, copyParts, isIgnored, lineage, parseDockerfile } from '../support/dockerfile.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

const stages = parseDockerfile(read('Dockerfile'));
const final = stages.at(-1)!;
const finalInstructions = allInstructions(stages, final);
const ignorePatterns = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const packageJson = JSON.parse(read('package.json')) as {
  main: string;
  scripts: Record<string, string>;
  overrides: Record<string, string>;
};
const execArgs = (args: string): string[] => JSON.parse(args) as string[];

describe('Dockerfile', () => {
  test('multi-stage, every stage on Node 24 slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      const root = lineage(stages, stage).at(-1)!;
      expect(root.base).toBe('node:24-slim');
    }
  });

  test('every file copied from the build context exists and is not excluded by .dockerignore', () => {
    const sources = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'COPY').map((i) => copyParts(i.args))).filter((c) => c.from === null);
    expect(sources.length).toBeGreaterThan(0);
    for (const { sources: paths } of sources) {
      for (const source of paths) {
        expect([source, existsSync(join(ROOT, source))]).toEqual([source, true]);
        expect([source, isIgnored(source, ignorePatterns)]).toEqual([source, false]);
      }
    }
  });

  test('npm ci only runs where package.json, the lockfile and the override shim were copied first', () => {
    // Overrides that are local files must be in the image before npm ci; version overrides
    // (htmlencode 0.0.5) come from the registry like any dependency.
    const shimPath = Object.values(packageJson.overrides)
      .filter((v) => v.startsWith('file:'))
      .map((v) => v.replace(/^file:\.\//, ''));
    expect(shimPath).toEqual([expect.stringMatching(/^shims\//)]);
    for (const stage of stages) {
      const instructions = allInstructions(stages, stage);
      const firstCi = instructions.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
      if (firstCi === -1) continue;
      const copiedBefore = instructions.slice(0, firstCi).filter((i) => i.keyword === 'COPY').flatMap((i) => copyParts(i.args).sources);
      expect(copiedBefore).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'shims/']));
    }
  });

  test('the runtime image has production dependencies only, from npm ci --omit=dev', () => {
    const modules = final.instructions.map((i) => copyParts(i.args)).find((c) => c.sources.some((s) => s.endsWith('/node_modules')));
    expect(modules?.from).toBeTruthy();
    const source = stages.find((s) => s.name === modules!.from)!;
    const installs = allInstructions(stages, source).filter((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(installs.at(-1)!.args).toMatch(/--omit=dev/);
    // node_modules links the crypto override into shims/: the runtime needs it too.
    expect(final.instructions.filter((i) => i.keyword === 'COPY').map((i) => copyParts(i.args).sources[0])).toContain('shims/');
  });

  test('the entry point runs the built dist/main.js, compiled in the build stage from src/main.ts', () => {
    const entrypoint = execArgs(final.instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args);
    expect(entrypoint).toEqual(['node', `/app/${packageJson.main}`]);
    expect(packageJson.main).toBe('dist/main.js');
    expect(existsSync(join(ROOT, 'src/main.ts'))).toBe(true);
    // dist/ is copied from a stage that ran the build script, which compiles src/ into dist/.
    const dist = final.instructions.map((i) => copyParts(i.args)).find((c) => c.dest === './dist' || c.dest === '/app/dist');
    expect(dist).toMatchObject({ sources: ['/app/dist'] });
    const builder = stages.find((s) => s.name === dist!.from)!;
    expect(allInstructions(stages, builder).some((i) => i.keyword === 'RUN' && i.args === 'npm run build')).toBe(true);
    expect(allInstructions(stages, builder).find((i) => i.keyword === 'WORKDIR')!.args).toBe('/app');
    expect(packageJson.scripts.build).toBe('tsc -p tsconfig.build.json');
    const tsconfig = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    // The runtime finds its migrations beside dist/ (src/store/Database.ts: ../../migrations).
    expect(final.instructions.some((i) => i.keyword === 'COPY' && copyParts(i.args).sources[0] === 'migrations/')).toBe(true);
  });

  test('the default command reads the mounted config and registration', () => {
    expect(execArgs(final.instructions.find((i) => i.keyword === 'CMD')!.args)).toEqual(['-c', '/config/config.yaml', '-f', '/config/registration.yaml']);
  });

  test('runs as a non-root user', () => {
    const users = finalInstructions.filter((i) => i.keyword === 'USER').map((i) => i.args.split(':')[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(users.at(-1));
    const userAt = final.instructions.findIndex((i) => i.keyword === 'USER');
    expect(userAt).toBeLessThan(final.instructions.findIndex((i) => i.keyword === 'ENTRYPOINT'));
  });

  test('exposes the default appservice port and keeps /data in a volume', () => {
    const port = configSchema.properties.appservice.properties.port.default;
    expect(final.instructions.find((i) => i.keyword === 'EXPOSE')!.args).toBe(String(port));
    expect(execArgs(final.instructions.find((i) => i.keyword === 'VOLUME')!.args)).toContain('/data');
  });

  test('has a node-based HEALTHCHECK running a built script (no curl in slim images)', () => {
    const health = final.instructions.find((i) => i.keyword === 'HEALTHCHECK')!;
    const cmd = execArgs(health.args.slice(health.args.indexOf('CMD') + 3).trim());
    expect(cmd[0]).toBe('node');
    expect(cmd[1]).toMatch(/^\/app\/dist\/.+\.js$/);
    const source = cmd[1]!.replace(/^\/app\/dist\//, 'src/').replace(/\.js$/, '.ts');
    expect(existsSync(join(ROOT, source))).toBe(true);
    expect(health.args).not.toMatch(/curl|wget/);
  });
});

describe('.dockerignore', () => {
  test('keeps secrets, local state and build output out of the build context', () => {
    for (const path of ['config.yaml', 'registration/personas-registration.yaml', '.local/config.yaml', 'data/personas.db', 'node_modules/yaml/package.json', 'dist/main.js', '.git/config', 'src/main.test.ts']) {
      expect([path, isIgnored(path, ignorePatterns)]).toEqual([path, true]);
    }
  });

  test('lets in what the image is built from', () => {
    for (const path of ['src/main.ts', 'src/config/schema.ts', 'migrations/001-processed-events.sql', 'shims/matrix-sdk-crypto-disabled/index.js', 'package.json']) {
      expect([path, isIgnored(path, ignorePatterns)]).toEqual([path, false]);
    }
  });
});

describe('docker-compose.example.yml', () => {
  const compose = parseYaml(read('docker-compose.example.yml')) as {
    services: Record<string, { image?: string; build?: string; command?: string[]; volumes?: string[]; healthcheck?: { test: string[] } }>;
  };

  test('runs Synapse and the bridge built from this repo', () => {
    expect(compose.services.synapse!.image).toMatch(/^matrixdotorg\/synapse:/);
    expect(compose.services.personas!.build).toBe('.');
  });

  test('the registration the bridge is told to use is the one Synapse mounts', () => {
    const bridge = compose.services.personas!;
    const registration = bridge.command![bridge.command!.indexOf('-f') + 1]!;
    const mountOf = (volumes: string[] | undefined, containerPath: string) =>
      volumes?.map((v) => v.split(':')).find(([, target]) => containerPath === target || containerPath.startsWith(`${target}/`));
    const bridgeMount = mountOf(bridge.volumes, registration)!;
    const synapseMount = mountOf(compose.services.synapse!.volumes, registration)!;
    expect(bridgeMount[0]).toBe(synapseMount[0]);
    expect(mountOf(bridge.volumes, bridge.command![bridge.command!.indexOf('-c') + 1]!)).toBeDefined();
    expect(mountOf(bridge.volumes, '/data/personas.db')).toBeDefined();
  });

  test('its health check is the image script', () => {
    const test = compose.services.personas!.healthcheck!.test;
    expect(test.slice(1, 3)).toEqual(['node', '/app/dist/doctor/healthcheck.js']);
    expect(existsSync(join(ROOT, 'src/doctor/healthcheck.ts'))).toBe(true);
  });
});
