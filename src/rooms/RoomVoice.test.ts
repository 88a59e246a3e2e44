import { RoomVoice } from './RoomVoice.js';

const BOT = '@personas:localhost';
const ADA = '@persona_ada:localhost';
const BEA = '@persona_bea:localhost';

/** A room's bot membership and recorded personas (earliest join first), and the notices sent. */
function voiceWith(room: { bot: boolean; personas: string[]; membersFail?: boolean }) {
  const sent: string[] = [];
  const voice = new RoomVoice({
    botUserId: BOT,
    members: {
      ensureLoaded: async () => {
        if (room.membersFail) throw new Error('M_FORBIDDEN');
      },
      // Like RoomMembers: a room whose members could not be loaded has nobody joined.
      isJoined: (_roomId, userId) => !room.membersFail && room.bot && userId === BOT,
    },
    personasIn: () => room.personas,
    sendNotice: async (userId, roomId, text) => void sent.push(`${userId}@${roomId}: ${text}`),
  });
  return { voice, sent };
}

describe('RoomVoice', () => {
  test('the bot speaks when it is joined, even where personas are too', async () => {
    const { voice } = voiceWith({ bot: true, personas: [ADA, BEA] });
    await expect(voice.voiceFor('!r')).resolves.toEqual({ userId: BOT, isBot: true });
    await expect(voice.voiceFor('!r', BEA)).resolves.toEqual({ userId: BOT, isBot: true });
  });

  test('without the bot: the persona named by the caller, else the one that joined first', async () => {
    const { voice } = voiceWith({ bot: false, personas: [ADA, BEA] });
    await expect(voice.voiceFor('!r')).resolves.toEqual({ userId: ADA, isBot: false });
    await expect(voice.voiceFor('!r', BEA)).resolves.toEqual({ userId: BEA, isBot: false });
  });

  test('nobody of ours in the room: no voice, and a notice is not sent', async () => {
    const { voice, sent } = voiceWith({ bot: false, personas: [] });
    await expect(voice.voiceFor('!r')).resolves.toBeNull();
    await expect(voice.notice('!r', 'hello')).resolves.toBeNull();
    expect(sent).toEqual([]);
  });

  test('members that cannot be loaded count as "bot not joined": a persona speaks', async () => {
    const { voice } = voiceWith({ bot: true, personas: [ADA], membersFail: true });
    await expect(voice.voiceFor('!r')).resolves.toEqual({ userId: ADA, isBot: false });
  });

  test('ourUsersIn lists the bot first, then the personas by join', async () => {
    await expect(voiceWith({ bot: true, personas: [ADA, BEA] }).voice.ourUsersIn('!r')).resolves.toEqual([BOT, ADA, BEA]);
    await expect(voiceWith({ bot: false, personas: [BEA] }).voice.ourUsersIn('!r')).resolves.toEqual([BEA]);
  });

  test('notice sends as the voice and says who spoke', async () => {
    const { voice, sent } = voiceWith({ bot: false, personas: [ADA] });
    await expect(voice.notice('!r', 'disk full')).resolves.toBe(ADA);
    expect(sent).toEqual([`${ADA}@!r: disk full`]);
  });
});
