import { AnswerTimelines, Timeline } from './AnswerTimeline.js';

describe('Timeline', () => {
  test('each lap charges the time since the previous one; the stages add up to the total', () => {
    const t = new Timeline(100);
    t.lap('auth', 100.5);
    t.lap('parse', 102);
    t.lap('auth', 103); // a stage reached twice is added up
    t.lap('recall', 110);
    expect([...t.stages()]).toEqual([
      ['auth', 1.5],
      ['parse', 1.5],
      ['recall', 7],
    ]);
    expect(t.totalMs).toBe(10);
    expect([...t.stages().values()].reduce((a, b) => a + b, 0)).toBe(t.totalMs);
    expect(t.describe()).toBe('auth=1.50 parse=1.50 recall=7.00 total=10.00');
  });

  test('a clock stepping backwards charges nothing rather than a negative time', () => {
    const t = new Timeline(100);
    t.lap('a', 99);
    expect(t.stages().get('a')).toBe(0);
  });
});

describe('AnswerTimelines', () => {
  test('a timeline is lapped by event id until taken; taking or closing forgets it', () => {
    const timelines = new AnswerTimelines();
    const t = new Timeline(0);
    timelines.begin('$a', t);
    timelines.lap('$a', 'queue');
    timelines.lap('$unknown', 'queue'); // no timeline: nothing happens
    expect(timelines.take('$a')).toBe(t);
    expect(t.stages().has('queue')).toBe(true);
    expect(timelines.take('$a')).toBeUndefined();
    timelines.begin('$b', new Timeline(0));
    timelines.close('$b');
    expect(timelines.size).toBe(0);
  });

  test('a redelivered message keeps its first timeline', () => {
    const timelines = new AnswerTimelines();
    const first = new Timeline(0);
    timelines.begin('$a', first);
    timelines.begin('$a', new Timeline(5));
    expect(timelines.take('$a')).toBe(first);
  });

  test('bounded: beyond the limit the oldest timelines are dropped', () => {
    const timelines = new AnswerTimelines(2);
    for (const id of ['$1', '$2', '$3']) timelines.begin(id, new Timeline(0));
    expect(timelines.size).toBe(2);
    expect(timelines.take('$1')).toBeUndefined();
    expect(timelines.take('$3')).toBeDefined();
  });
});
