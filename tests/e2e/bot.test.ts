// The walking skeleton, end to end: a real user on a real Synapse talks to the bridge bot.
import { startTestBridge, newUser, type TestBridge, type TestUser } from './helpers/index.js';

describe('bridge bot on a real Synapse', () => {
  let tb: TestBridge;
  let bob: TestUser;

  beforeAll(async () => {
    tb = await startTestBridge();
    bob = await newUser();
  });
  afterAll(async () => {
    bob?.stop();
    await tb?.stop();
  });

  test('the bot accepts a DM invite and answers !ping with latency', async () => {
    const roomId = await bob.createRoom({ invite: [tb.botUserId], isDirect: true });
    await bob.waitForMembership(roomId, tb.botUserId, 'join');
    await bob.sendText(roomId, '!ping');
    const pong = await bob.waitForMessage(roomId, (e) => e.sender === tb.botUserId);
    expect(pong.content.msgtype).toBe('m.notice');
    expect(pong.content.body).toMatch(/^Pong! Latency \d+ ms/);
  });

  test('!help lists the commands; admins see admin commands', async () => {
    const roomId = await bob.createRoom({ invite: [tb.botUserId], isDirect: true });
    await bob.waitForMembership(roomId, tb.botUserId, 'join');
    await bob.sendText(roomId, '!help');
    const help = await bob.waitForMessage(roomId, (e) => e.sender === tb.botUserId);
    expect(help.content.body).toContain('!ping');
    expect(help.content.body).toContain('!help');
    // Persona-room commands are listed too, though personas (not the bot) answer them.
    expect(help.content.body).toContain('!forget');
    expect(help.content.body).toContain('!summary');
    // A direct chat: no group-room commands, and admin commands only for admins.
    expect(help.content.body).not.toMatch(/!next|!room set|!persona mute/);
    expect(help.content.body).not.toContain('!persona spawn');
  });

  test('the bot has its displayname and /health reports the database', async () => {
    const profile = await bob.client.getProfileInfo(tb.botUserId);
    expect(profile.displayname).toBe('Personas');
    const res = await fetch(`${tb.appserviceUrl}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', checks: { database: { ok: true } } });
  });

  test('a replayed transaction is acted on once', async () => {
    const roomId = await bob.createRoom({ invite: [tb.botUserId], isDirect: true });
    await bob.waitForMembership(roomId, tb.botUserId, 'join');
    const eventId = await bob.sendText(roomId, '!ping');
    await bob.waitForMessage(roomId, (e) => e.sender === tb.botUserId && /Pong/.test(e.content.body ?? ''));
    // Replay the same event as Synapse would after a timeout, under a new txnId (the bridge
    // library only remembers the last one): our persisted de-duplication must drop it.
    // A malformed event rides along: it must be skipped without harming the rest.
    const original = bob.events(roomId).find((e) => e.event_id === eventId);
    expect(original).toBeDefined();
    const res = await fetch(`${tb.appserviceUrl}/_matrix/app/v1/transactions/replay-${Date.now()}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tb.registration.getHomeserverToken()}` },
      body: JSON.stringify({ events: [null, { type: 'm.room.message' }, original] }),
    });
    expect(res.status).toBe(200);
    await bob.sendText(roomId, 'marker');
    await bob.waitForMessage(roomId, (e) => e.content.body === 'marker');
    await bob.sendText(roomId, '!ping');
    await bob.waitForMessage(roomId, (e) => e.sender === tb.botUserId && bob.events(roomId).filter((x) => x.sender === tb.botUserId && /Pong/.test(x.content.body ?? '')).length >= 2);
    const pongs = bob.events(roomId).filter((e) => e.sender === tb.botUserId && /Pong/.test(e.content.body ?? ''));
    expect(pongs).toHaveLength(2); // one for each real !ping, none for the replay
  });
});
