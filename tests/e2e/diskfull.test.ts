// A full disk (issue 11): the bridge's database lives on a small tmpfs that a filler file fills
// while the bridge runs. A person writing then gets one notice (not one per message), /health
// answers 503 naming the disk, and once the filler is deleted every message is answered: those
// sent during the fault too (refused transactions stay with the homeserver, which retries).
// Needs root (mount); CI runs as root like this machine.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOpenAI, answeredText } from '../fakes/FakeOpenAI.js';
import { MEMORY_WRITE_FAILED_NOTICE, MESSAGES_REFUSED_NOTICE } from '../../src/reply/messages.js';
import { newUser, seedPersonas, startTestBridge, type TestBridge, type TestUser } from './helpers/index.js';

/** The text being answered: the last line of the last user turn, without its "Name: ". */

/** Writes zeros until the filesystem refuses (ENOSPC); returns the bytes written. */
function fillDisk(file: string): number {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return written;
}

describe('a full disk under the database (real Synapse, tmpfs)', () => {
  const mountDir = mkdtempSync(join(tmpdir(), 'personas-diskfull-'));
  const filler = join(mountDir, 'filler');
  let mounted = false;
  let tb: TestBridge | undefined;
  let llm: FakeOpenAI;
  let user: TestUser;
  let roomId: string;
  let ada: string;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('diskfull.test.ts mounts a tmpfs and needs root (CI runs the e2e suite as root)');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', mountDir]);
    mounted = true;
    const personasDir = seedPersonas('diskfull', [{ name: 'Ada', prompt: 'You are Ada.' }]);
    llm = await FakeOpenAI.start();
    llm.respondWith((req) => `Ada heard: ${answeredText(req)}`);
    mkdirSync(join(mountDir, 'data'));
    tb = await startTestBridge({ personasDir, llmBaseUrl: llm.baseUrl, config: { database: { path: join(mountDir, 'data', 'personas.db') } } });
    ada = tb.personaUserId('Ada');
    user = await newUser();
    roomId = await user.createRoom({ invite: [ada], isDirect: true });
    await user.waitForMembership(roomId, ada, 'join');
  }, 120_000);

  afterAll(async () => {
    user?.stop();
    await tb?.stop();
    await llm?.stop();
    if (mounted) {
      try {
        execFileSync('umount', [mountDir]);
      } catch {
        execFileSync('umount', ['-l', mountDir]);
      }
    }
    rmSync(mountDir, { recursive: true, force: true });
  });

  const answersTo = (text: string) => user.events(roomId).filter((e) => e.sender === ada && e.content.body === `Ada heard: ${text}`);
  const notices = () => user.events(roomId).filter((e) => e.content.body === MESSAGES_REFUSED_NOTICE || e.content.body === MEMORY_WRITE_FAILED_NOTICE);
  /** personas_memory_write_failures_total{code="SQLITE_FULL"}: one per refused delivery. */
  const failedWrites = async (): Promise<number> => {
    const text = await tb!.app.services.metrics!.registry.metrics();
    return Number(/^personas_memory_write_failures_total\{code="SQLITE_FULL"\} (\d+)/m.exec(text)?.[1] ?? 0);
  };
  const health = async () => {
    const res = await fetch(`${tb!.appserviceUrl}/health`);
    return { status: res.status, body: (await res.json()) as { checks: Record<string, { ok: boolean; detail: string }> } };
  };

  test('one notice and /health 503 while the disk is full; every message answered once space returns', async () => {
    await user.sendText(roomId, 'before');
    await user.waitForMessage(roomId, () => answersTo('before').length > 0, 30_000, 'the answer before the fault');
    expect((await health()).status).toBe(200);

    expect(fillDisk(filler)).toBeGreaterThan(0);
    const during = ['during 1', 'during 2', 'during 3'];
    for (const text of during) await user.sendText(roomId, text);
    await user.waitForMessage(roomId, () => notices().length > 0, 60_000, 'the disk-full notice');
    const sick = await health();
    expect(sick.status).toBe(503);
    expect(sick.body.checks.database!.ok).toBe(false);
    expect(sick.body.checks.database!.detail).toMatch(/disk|full/i);
    // A later message in the same fault: still only the one notice. (Waiting for its effect is
    // not possible while nothing can be stored; the marker after recovery proves it below.)
    await user.sendText(roomId, 'during 4');
    during.push('during 4');
    // The fault lasts until the homeserver has retried the refused transaction twice (each
    // retry is one more failed write): its backoff is then at 8 s and growing, which the
    // bridge's own recheck and appservice ping cut short once space is back.
    const deadline = Date.now() + 60_000;
    while ((await failedWrites()) < 3) {
      if (Date.now() > deadline) throw new Error('timed out waiting for two redeliveries to be refused');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    rmSync(filler);
    await user.sendText(roomId, 'after');
    for (const text of [...during, 'after']) {
      await user.waitForMessage(roomId, () => answersTo(text).length > 0, 120_000, `the answer to "${text}"`);
    }
    expect((await health()).status).toBe(200);
    const marker = `marker ${Date.now()}`;
    await user.sendText(roomId, marker);
    await user.waitForMessage(roomId, () => answersTo(marker).length > 0, 30_000, 'the marker answer');
    for (const text of [...during, 'after']) expect([text, answersTo(text).length]).toEqual([text, 1]);
    expect(notices()).toHaveLength(1);
  }, 300_000);
});
