import { replyContents } from './replyContent.js';

const members = Array.from({ length: 10 }, (_, i) => ({ userId: `@u${i}:localhost`, displayName: `User${i}` }));
const everyone = members.map((m) => `@${m.displayName}`).join(', ');
const group = { eventId: '$q', sender: '@asker:localhost', threadRootId: null, isDirect: false, mentionSender: true };

describe('replyContents mentions', () => {
  test('an answer naming every member notifies the asker and the first names only, at most 3', () => {
    const [content] = replyContents(`Hello ${everyone}!`, group, members);
    expect(content?.['m.mentions']).toEqual({ user_ids: ['@asker:localhost', '@u0:localhost', '@u1:localhost'] });
    // Everyone named still gets a pill.
    expect(String(content?.formatted_body).match(/matrix\.to/g)).toHaveLength(10);
  });

  test('in a DM nobody but the named is notified, still at most 3', () => {
    const [content] = replyContents(`Hello ${everyone}!`, { ...group, isDirect: true }, members);
    expect(content?.['m.mentions']).toEqual({ user_ids: ['@u0:localhost', '@u1:localhost', '@u2:localhost'] });
  });
});
