// The Docker image's entry point, without a Docker engine: the Dockerfile's final stage is
// replayed onto a folder playing the container's "/" (tests/support/dockerfile.ts: files
// copied from the build context through .dockerignore, dist/ from the production build,
// WORKDIR, mkdir), then its exact ENTRYPOINT + CMD runs against a config and registration
// mounted at /config, on the real Synapse. It must start, pass the image's HEALTHCHECK, keep
// its database in the /data volume, and exit 0 on SIGTERM.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { assembleFinalStage, onHost, parseDockerfile, type ImageOnHost } from '../support/dockerfile.js';
import { builtFile, claimSlot, readState } from './helpers/index.js';
import { ROOT } from './helpers/built.js';

describe('the Docker image entry point', () => {
  const state = readState();
  const slot = claimSlot();
  let image: ImageOnHost;

  beforeAll(() => {
    image = assembleFinalStage(parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')), {
      context: ROOT,
      dockerignore: readFileSync(join(ROOT, '.dockerignore'), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
      stageOutputs: { '/app/dist': dirname(builtFile('main.js')), '/app/node_modules': join(ROOT, 'node_modules') },
      root: mkdtempSync(join(tmpdir(), 'personas-image-')),
    });
    // What an admin mounts at /config: relative paths in it land in the /data volume (WORKDIR).
    const config = {
      homeserver: { url: state.synapse.baseUrl, domain: state.domain },
      appservice: { bind: '127.0.0.1', port: slot.port, bot_localpart: slot.botLocalpart, persona_prefix: slot.personaPrefix },
      admins: [],
      database: { path: 'personas.db' },
      llm: { base_url: 'http://127.0.0.1:9/v1', model: 'test-model' },
    };
    writeFileSync(image.host('/config/config.yaml'), stringify(config));
    writeFileSync(image.host('/config/registration.yaml'), readFileSync(slot.registrationFile));
  });

  afterAll(() => {
    if (image && !process.env.PERSONAS_E2E_KEEP) rmSync(image.root, { recursive: true, force: true });
  });

  test('ENTRYPOINT + CMD start the bridge from the image layout; the HEALTHCHECK passes; SIGTERM exits 0', async () => {
    expect(image.command.slice(0, 2)).toEqual(['node', '/app/dist/main.js']);
    const { file, args } = onHost(image, image.command);
    const child = spawn(file, args, { cwd: image.workdir, env: { ...process.env, ...image.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!/bridge ready/.test(output)) {
        if (child.exitCode !== null) throw new Error(`the entry point exited (${child.exitCode}):\n${output}`);
        if (Date.now() > deadline) throw new Error(`no "bridge ready" within 30 s:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(image.healthcheck).not.toBeNull();
      const health = onHost(image, image.healthcheck!);
      const result = await new Promise<{ code: number; out: string }>((done) =>
        execFile(health.file, health.args, { cwd: image.workdir }, (err, stdout, stderr) => done({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr })),
      );
      expect(result).toMatchObject({ code: 0, out: expect.stringMatching(/^200 /) });
      expect(existsSync(image.host('/data/personas.db'))).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
