// The persona lifecycle end to end: admins spawn, change, invite and despawn personas by
// chat command, seed persona files are provisioned at start, all against the real Synapse.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerUser } from '../harness/synapse.js';
import { newUser, readState, startTestBridge, uniqueLocalpart, waitUntil, type RawEvent, type TestBridge, type TestUser } from './helpers/index.js';

// A real 1x1 PNG: Synapse stores it and clients could render it.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

describe('persona lifecycle on a real Synapse', () => {
  let tb: TestBridge;
  let admin: TestUser;
  let mallory: TestUser;
  let host: TestUser;
  let adminDm: string;
  let lounge: string;
  let images: Server;
  let imageUrl: string;
  let serverAdminToken: string;

  /** Sends a command and resolves with the bot's first message after it in that room. */
  async function ask(user: TestUser, roomId: string, text: string): Promise<string> {
    const sent = await user.sendText(roomId, text);
    const answer = await user.waitForMessage(
      roomId,
      (e) => {
        if (e.sender !== tb.botUserId) return false;
        const timeline = user.events(roomId);
        return timeline.indexOf(e) > timeline.findIndex((x) => x.event_id === sent);
      },
      undefined,
      `the answer to '${text}'`,
    );
    expect(answer.content.msgtype).toBe('m.notice');
    return answer.content.body ?? '';
  }

  /** The homeserver's own account record (Synapse admin API): null when no such user exists. */
  async function account(userId: string): Promise<{ deactivated: boolean } | null> {
    const res = await fetch(`${readState().synapse.baseUrl}/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, {
      headers: { authorization: `Bearer ${serverAdminToken}` },
    });
    if (res.status === 404) return null;
    expect(res.status).toBe(200);
    return (await res.json()) as { deactivated: boolean };
  }

  async function profileOf(userId: string): Promise<{ displayname?: string; avatar_url?: string }> {
    return admin.client.getProfileInfo(userId);
  }

  const memberEvents = (user: TestUser, roomId: string, userId: string): RawEvent[] =>
    user.events(roomId).filter((e) => e.type === 'm.room.member' && e.state_key === userId);

  beforeAll(async () => {
    images = createServer((req, res) => {
      res.writeHead(req.url === '/bob.png' ? 200 : 404, { 'content-type': 'image/png' });
      res.end(req.url === '/bob.png' ? PNG : undefined);
    });
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    imageUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}/bob.png`;

    const state = readState();
    const localpart = uniqueLocalpart('srvadmin');
    serverAdminToken = (await registerUser(state.synapse, localpart, `pw-${localpart}`, true)).accessToken;

    // A public room with an alias, made before the bridge starts, for a seed persona to join.
    host = await newUser();
    const aliasName = uniqueLocalpart('lounge');
    lounge = (await host.client.createRoom({ preset: 'public_chat' as never, room_alias_name: aliasName, name: 'Lounge' })).room_id;

    const personasDir = mkdtempSync(join(tmpdir(), 'e2e-personas-'));
    writeFileSync(join(personasDir, 'sage.png'), PNG);
    writeFileSync(
      join(personasDir, 'sage.yaml'),
      `name: Sage\nprompt: You are Sage, calm and brief.\ntraits: { openness: 0.9 }\navatar: sage.png\nrooms: ["#${aliasName}:localhost"]\n`,
    );
    writeFileSync(join(personasDir, 'broken.yaml'), 'name: Broken\nprompt: p\ntemperature: 5\n');

    // The avatar server is on loopback, which downloads refuse by default.
    tb = await startTestBridge({ personasDir, config: { fetch: { allow_private_addresses: true } } });
    admin = tb.admin;
    mallory = await newUser();
    adminDm = await admin.createRoom({ invite: [tb.botUserId], isDirect: true });
    await admin.waitForMembership(adminDm, tb.botUserId, 'join');
  });

  afterAll(async () => {
    host?.stop();
    mallory?.stop();
    await tb?.stop();
    images?.closeAllConnections();
    await new Promise((resolve) => images?.close(resolve));
  });

  test('a seed persona file is provisioned at start; a broken one is reported and skipped', async () => {
    const sage = tb.personaUserId('Sage');
    const profile = await profileOf(sage);
    expect(profile.displayname).toBe('Sage');
    expect(profile.avatar_url).toMatch(/^mxc:\/\/localhost\//);
    await host.waitForMembership(lounge, sage, 'join');
    expect(tb.app.services.personas.byUserId(sage)).toMatchObject({ name: 'Sage', creator: 'file:sage.yaml', traits: { openness: 0.9 } });

    const list = await ask(admin, adminDm, '!persona list');
    expect(list).toContain(`Sage — ${sage} — model test-model — 1 room`);
    expect(list).toContain('broken.yaml (skipped): temperature: must be <= 2');
    expect(await account(tb.personaUserId('Broken'))).toBeNull();
  });

  test('a restart provisions the seed again without rewriting its profile or rejoining', async () => {
    const sage = tb.personaUserId('Sage');
    await host.waitForMembership(lounge, sage, 'join');
    const before = memberEvents(host, lounge, sage).length;
    await tb.restart();
    expect(tb.app.services.personas.byUserId(sage)?.name).toBe('Sage');
    // Member events in a room come in order: once the marker is here, any profile or join
    // change made during the restart would be too.
    const marker = await host.sendText(lounge, 'marker');
    await host.waitForEvent(lounge, (e) => e.event_id === marker);
    expect(memberEvents(host, lounge, sage)).toHaveLength(before);
  });

  test('spawn creates the user with the right displayname and the answer names its MXID', async () => {
    const ada = tb.personaUserId('Ada');
    expect(await ask(admin, adminDm, '!persona spawn Ada --model gpt-test --temperature 0.5 "You are Ada, a poet."')).toBe(
      `Spawned Ada as ${ada}.`,
    );
    expect((await profileOf(ada)).displayname).toBe('Ada');
    expect(await account(ada)).toMatchObject({ deactivated: false });
    expect(tb.app.services.personas.byUserId(ada)).toMatchObject({ name: 'Ada', prompt: 'You are Ada, a poet.', model: 'gpt-test', temperature: 0.5 });
    expect(await ask(admin, adminDm, '!persona spawn ada again')).toBe(`A persona named Ada already exists (${ada}).`);
    expect(await ask(admin, adminDm, '!persona spawn Ada\u202Ebot p')).toMatch(/^Invalid name 'Ada\u202Ebot': the name contains invisible or control characters \(U\+202E\)\.\nUsage: !persona spawn <Name>/);
  });

  test('a non-admin is refused and no user exists', async () => {
    const dm = await mallory.openDm(tb.botUserId);
    expect(await ask(mallory, dm, '!persona spawn Eve "You are Eve."')).toBe('Sorry, only bridge admins may use !persona spawn.');
    expect(await account(tb.personaUserId('Eve'))).toBeNull();
    expect(tb.app.services.personas.list().map((p) => p.name)).not.toContain('Eve');
  });

  test('list, show and set work, including the Matrix profile for name and avatar', async () => {
    const bob = tb.personaUserId('Bob');
    expect(await ask(admin, adminDm, '!persona spawn Bob You are Bob, a builder.')).toBe(`Spawned Bob as ${bob}.`);
    // Sorted by name: Bob before the seed Sage (other tests' personas may sit in between).
    expect(await ask(admin, adminDm, '!persona list')).toMatch(new RegExp(`Bob — ${bob} — model test-model — 0 rooms\n(.+\n)*Sage — `));

    expect(await ask(admin, adminDm, '!persona set Bob prompt You are Bob, a careful builder.')).toBe('Updated Bob: prompt (31 characters).');
    expect(await ask(admin, adminDm, '!persona set Bob temperature 1.25')).toBe('Updated Bob: temperature: 1.25.');
    expect(await ask(admin, adminDm, '!persona set Bob traits openness=0.3 patient=true')).toBe('Updated Bob: traits: {"openness":0.3,"patient":true}.');
    expect(await ask(admin, adminDm, `!persona set Bob avatar ${imageUrl}`)).toMatch(/^Updated Bob: avatar: mxc:\/\/localhost\/\S+\.$/);
    expect(await ask(admin, adminDm, '!persona set Bob name Bobby')).toBe('Updated Bob: name: Bobby.');

    const profile = await profileOf(bob);
    expect(profile.displayname).toBe('Bobby');
    expect(profile.avatar_url).toMatch(/^mxc:\/\/localhost\//);
    const shown = await ask(admin, adminDm, '!persona show bobby');
    expect(shown.split('\n')).toEqual([
      `Bobby (${bob})`,
      'Model: test-model (the default)',
      'Temperature: 1.25',
      `Avatar: ${profile.avatar_url}`,
      'Traits: {"openness":0.3,"patient":true}',
      'Live answers: default (replies.live)',
      'Tools: none',
      'Voice: none (writes only)',
      expect.stringMatching(new RegExp(`^Created: \\d{4}-\\d\\d-\\d\\dT.* by ${admin.userId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)),
      'Rooms (0): none',
      'Feedback: 👍 0 · 👎 0 · ⭐ 0',
      'AI disclosure: off (disclosure: off)',
      'Prompt: You are Bob, a careful builder.',
    ]);
  });

  test('invite, spawn --room and room create put personas in rooms; personas accept invites from anyone', async () => {
    // Personas of this test's own, so it runs alone (-t) as well as after the others.
    const iris = tb.personaUserId('Iris');
    const hugo = tb.personaUserId('Hugo');
    expect(await ask(admin, adminDm, '!persona spawn Iris --model gpt-test You are Iris.')).toBe(`Spawned Iris as ${iris}.`);
    expect(await ask(admin, adminDm, '!persona spawn Hugo You are Hugo.')).toBe(`Spawned Hugo as ${hugo}.`);
    const group = await admin.createRoom({ invite: [tb.botUserId], name: 'Workshop' });
    await admin.waitForMembership(group, tb.botUserId, 'join');
    expect(await ask(admin, group, '!persona invite Iris')).toBe('Iris joined this room.');
    await admin.waitForMembership(group, iris, 'join');

    const cleo = tb.personaUserId('Cleo');
    expect(await ask(admin, adminDm, `!persona spawn Cleo --room ${group} You are Cleo.`)).toBe(`Spawned Cleo as ${cleo} and joined ${group}.`);
    await admin.waitForMembership(group, cleo, 'join');

    // A DM straight to a persona, from a user who is no admin.
    await mallory.openDm(iris);

    const created = await ask(admin, adminDm, '!room create "Tea party" Iris Hugo');
    const roomId = /\((![^)]+)\)/.exec(created)?.[1];
    expect(created).toBe(`Created "Tea party" (${roomId}) and invited you. Joined: Iris, Hugo.`);
    await admin.waitForMembership(roomId!, admin.userId, 'join');
    await admin.waitForMembership(roomId!, iris, 'join');
    await admin.waitForMembership(roomId!, hugo, 'join');
    expect(admin.client.getRoom(roomId!)?.name).toBe('Tea party');

    await waitUntil(() => tb.app.services.personas.rooms(iris).length === 3, "Iris's three rooms recorded");
    expect(await ask(admin, adminDm, '!persona list')).toMatch(new RegExp(`Iris — ${iris} — model gpt-test — 3 rooms`));
  });

  test('a spawn that fails part-way is not active, and the same command completes it', async () => {
    const dora = tb.personaUserId('Dora');
    // Invite-only and the bot is not in it: the persona cannot get in.
    const closed = await admin.createRoom({ name: 'Closed' });
    const failed = await ask(admin, adminDm, `!persona spawn Dora --room ${closed} You are Dora.`);
    expect(failed).toMatch(new RegExp(`^Spawn of Dora \\(${dora}\\) stopped while joining ${closed}: .*Send the same !persona spawn again`));
    expect(tb.app.services.personas.byUserId(dora)).toBeUndefined();
    expect(await ask(admin, adminDm, '!persona list')).toContain(`Dora — ${dora} — not active: spawn did not finish`);

    await admin.client.invite(closed, tb.botUserId);
    await admin.waitForMembership(closed, tb.botUserId, 'join');
    expect(await ask(admin, adminDm, `!persona spawn Dora --room ${closed} You are Dora.`)).toBe(
      `Spawned Dora as ${dora} and joined ${closed} (completing the earlier attempt).`,
    );
    await admin.waitForMembership(closed, dora, 'join');
    expect((await profileOf(dora)).displayname).toBe('Dora');
  });

  test('despawn removes the persona from every room and from the list; a re-spawn gets a new ID', async () => {
    // A persona of this test's own in a group room (via the bot) and in a DM with another user.
    const vera = tb.personaUserId('Vera');
    expect(await ask(admin, adminDm, '!persona spawn Vera You are Vera.')).toBe(`Spawned Vera as ${vera}.`);
    const group = await admin.createRoom({ invite: [tb.botUserId], name: 'Farewell' });
    await admin.waitForMembership(group, tb.botUserId, 'join');
    expect(await ask(admin, group, '!persona invite Vera')).toBe('Vera joined this room.');
    await admin.waitForMembership(group, vera, 'join');
    const malloryDm = await mallory.openDm(vera);
    // The bridge records a room once the join is done; the clients may see the join first.
    await waitUntil(() => tb.app.services.personas.rooms(vera).length === 2, "Vera's two rooms recorded");
    expect([...tb.app.services.personas.rooms(vera)].sort()).toEqual([group, malloryDm].sort());

    expect(await ask(admin, adminDm, '!persona despawn Vera')).toBe(`Despawned Vera (${vera}): left 2 rooms, account deactivated.`);
    await admin.waitForMembership(group, vera, 'leave');
    await mallory.waitForMembership(malloryDm, vera, 'leave');

    expect(tb.app.services.personas.byUserId(vera)).toBeUndefined();
    expect(await account(vera)).toMatchObject({ deactivated: true });
    expect(await ask(admin, adminDm, '!persona list')).not.toContain('Vera —');
    expect(await ask(admin, adminDm, '!persona despawn Vera')).toBe('Vera was already despawned.');
    // Matrix never lets a deactivated user ID be registered again: the new Vera gets the next ID.
    const vera2 = vera.replace(/_vera:/, '_vera_2:');
    expect(await ask(admin, adminDm, '!persona spawn Vera You are Vera again.')).toBe(`Spawned Vera as ${vera2}.`);
    expect((await profileOf(vera2)).displayname).toBe('Vera');
  });
});
