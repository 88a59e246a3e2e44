import { FINAL_KEY, LIVE_KEY } from '../matrix/liveMessages.js';
import { ManualClock } from '../../tests/support/manualClock.js';
import { DEFAULT_LIVE_OPTIONS, editContent, LiveAnswer } from './LiveAnswer.js';

function setup() {
  const clock = new ManualClock();
  const sent: Array<Record<string, unknown>> = [];
  const edits: Array<{ eventId: string; content: Record<string, unknown> }> = [];
  let visible = 0;
  const live = new LiveAnswer(
    {
      send: async (content) => {
        sent.push(content);
        return '$live';
      },
      edit: async (eventId, content) => {
        edits.push({ eventId, content });
      },
    },
    (text) => ({ msgtype: 'm.text', body: text }),
    DEFAULT_LIVE_OPTIONS,
    clock,
    () => visible++,
  );
  return { clock, sent, edits, live, visible: () => visible };
}

describe('LiveAnswer', () => {
  it('sends a short answer that finishes before the first flush not at all (the caller sends it once)', async () => {
    const { live, sent, edits, clock } = setup();
    live.update('Hi');
    await clock.advance(300);
    const result = await live.finish({ msgtype: 'm.text', body: 'Hi there' });
    expect(result).toEqual({ eventId: null, edits: 0 });
    expect(sent).toEqual([]);
    expect(edits).toEqual([]);
  });

  it('shows the first finished sentence once the minimum wait is over, marked live', async () => {
    const { live, sent, clock, visible } = setup();
    live.update('The sea is wide and deep.');
    await clock.advance(DEFAULT_LIVE_OPTIONS.minFirstMs - 1);
    expect(sent).toEqual([]);
    await clock.advance(1);
    expect(sent).toEqual([{ msgtype: 'm.text', body: 'The sea is wide and deep.', [LIVE_KEY]: {} }]);
    expect(visible()).toBe(1);
  });

  it('sends a whole fast answer once even when it has finished sentences', async () => {
    const { live, sent, edits, clock } = setup();
    live.update('The sea is wide and deep. It is also salty, they say.');
    await clock.advance(50);
    const result = await live.finish({ msgtype: 'm.text', body: 'The sea is wide and deep. It is also salty, they say.' });
    expect(result.eventId).toBeNull();
    expect(sent).toEqual([]);
    expect(edits).toEqual([]);
  });

  it('shows the first text after the first-flush delay when no sentence has ended', async () => {
    const { live, sent, clock } = setup();
    live.update('Well, let me think about');
    await clock.advance(999);
    expect(sent).toHaveLength(0);
    await clock.advance(1);
    expect(sent.map((c) => c.body)).toEqual(['Well, let me think about']);
  });

  it('edits in place at a ramping interval and ends with one final edit without the live mark', async () => {
    const { live, sent, edits, clock } = setup();
    let text = 'Once upon a time, there was a cook.';
    live.update(text);
    await clock.advance(DEFAULT_LIVE_OPTIONS.minFirstMs);
    for (let i = 0; i < 40; i++) {
      text += ` word${i}`;
      live.update(text);
      await clock.advance(250);
    }
    // 10 s of streaming after the first send: edits at +0.5, 1.5, 3.5, 7.5 s (the next at 12.5 s).
    expect(edits).toHaveLength(4);
    expect(edits.every((e) => e.eventId === '$live' && LIVE_KEY in e.content)).toBe(true);
    const final = { msgtype: 'm.text', body: text, format: 'org.matrix.custom.html', formatted_body: '<p>x</p>' };
    const result = await live.finish(final);
    expect(result).toEqual({ eventId: '$live', edits: 4 });
    expect(sent).toHaveLength(1);
    expect(edits).toHaveLength(5);
    expect(edits[4]).toEqual({ eventId: '$live', content: final });
  });

  it('never makes more than maxEdits interim edits, however long the answer', async () => {
    const { live, edits, clock } = setup();
    let text = 'A long story begins here.';
    live.update(text);
    for (let i = 0; i < 600; i++) {
      text += ' more';
      live.update(text);
      await clock.advance(500); // five minutes
    }
    expect(edits.length).toBe(DEFAULT_LIVE_OPTIONS.maxEdits);
    await live.finish({ msgtype: 'm.text', body: text });
    expect(edits.length).toBe(DEFAULT_LIVE_OPTIONS.maxEdits + 1);
    expect(edits.at(-1)!.content.body).toBe(text);
  });

  it('skips an edit when nothing new was written', async () => {
    const { live, edits, clock } = setup();
    live.update('Nothing more to say here, really.');
    await clock.advance(10_000);
    expect(edits).toHaveLength(0);
  });

  /** A live answer whose sink fails the sends and edits `fail` picks (by their order, from 1). */
  function failing(fail: { send?: boolean; edits?: number[] }) {
    const clock = new ManualClock();
    const edits: Array<Record<string, unknown>> = [];
    let sends = 0;
    const live = new LiveAnswer(
      {
        send: async () => {
          sends++;
          if (fail.send) throw new Error('homeserver down');
          return '$live';
        },
        edit: async (_eventId, content) => {
          edits.push(content);
          if (fail.edits?.includes(edits.length)) throw new Error('homeserver down');
        },
      },
      (text) => ({ body: text }),
      DEFAULT_LIVE_OPTIONS,
      clock,
    );
    return { clock, live, edits, sends: () => sends };
  }

  async function streamFor(live: LiveAnswer, clock: ManualClock, seconds: number): Promise<string> {
    let text = 'First sentence is done.';
    live.update(text);
    for (let i = 0; i < seconds; i++) {
      await clock.advance(1000);
      text += ` more${i}`;
      live.update(text);
    }
    return text;
  }

  it('an interim edit that fails (the homeserver stayed down) ends the interim edits, not the answer: the final edit still carries it', async () => {
    const { live, clock, edits } = failing({ edits: [1] });
    const text = await streamFor(live, clock, 20);
    // The first interim edit failed; no other was tried while the answer went on.
    expect(edits).toHaveLength(1);
    const result = await live.finish({ body: text });
    expect(result.eventId).toBe('$live');
    expect(edits.map((e) => e.body)).toEqual([expect.stringMatching(/^First sentence is done\./), text]);
    expect(live.shownText).toBe(text);
  });

  it('rejects finish when the final edit fails, after ending the message as it shows without the live mark', async () => {
    const { live, clock, edits } = failing({ edits: [3] });
    const text = await streamFor(live, clock, 3);
    expect(edits).toHaveLength(2);
    await expect(live.finish({ body: text })).rejects.toThrow('homeserver down');
    // The refused final edit, then the message as it showed, no longer live.
    expect(edits).toHaveLength(4);
    expect(edits[3]).toEqual({ body: edits[1]!.body });
  });

  it('rejects finish when the first send failed, and sends nothing after it', async () => {
    const { live, clock, edits, sends } = failing({ send: true });
    const text = await streamFor(live, clock, 10);
    expect(sends()).toBe(1);
    expect(live.liveEventId).toBeNull();
    await expect(live.finish({ body: text })).rejects.toThrow('homeserver down');
    expect(edits).toEqual([]);
  });
});

describe('editContent', () => {
  it('is an m.replace with a * fallback and the new content (without its relation) inside', () => {
    const edit = editContent('$orig', {
      msgtype: 'm.text',
      body: 'hello',
      format: 'org.matrix.custom.html',
      formatted_body: '<b>hello</b>',
      'm.mentions': { user_ids: ['@a:hs'] },
      'm.relates_to': { 'm.in_reply_to': { event_id: '$q' } },
    });
    expect(edit).toEqual({
      msgtype: 'm.text',
      body: '* hello',
      format: 'org.matrix.custom.html',
      formatted_body: '* <b>hello</b>',
      'm.mentions': {},
      'm.new_content': { msgtype: 'm.text', body: 'hello', format: 'org.matrix.custom.html', formatted_body: '<b>hello</b>', 'm.mentions': { user_ids: ['@a:hs'] } },
      'm.relates_to': { rel_type: 'm.replace', event_id: '$orig' },
    });
  });
});

describe('editContent (final)', () => {
  it('carries the original relation under our final mark, so the bridge can dispatch the finished answer', () => {
    const edit = editContent('$orig', { msgtype: 'm.text', body: 'done @Bex', 'm.relates_to': { 'm.in_reply_to': { event_id: '$q' } } }, true);
    expect(edit[FINAL_KEY]).toEqual({ relates_to: { 'm.in_reply_to': { event_id: '$q' } } });
    expect(edit[LIVE_KEY]).toBeUndefined();
  });
});

describe('LiveAnswer.adopt (regenerate in place)', () => {
  it('edits the adopted message from the first update on, and never sends a new one', async () => {
    const { live, sent, edits, clock } = setup();
    live.adopt('$old');
    live.update('A fresh take on it.');
    await clock.advance(600);
    expect(sent).toEqual([]);
    expect(edits.map((e) => e.eventId)).toEqual(['$old']);
    await live.finish({ msgtype: 'm.text', body: 'A fresh take on it, finished.' });
    expect(edits.map((e) => e.content.body)).toEqual(['A fresh take on it.', 'A fresh take on it, finished.']);
  });
});
