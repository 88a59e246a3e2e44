import { chargeToolRound, RateLimiter } from './RateLimiter.js';

describe('RateLimiter', () => {
  const make = (limit = 3, windowMs = 1000) => {
    const clock = { t: 0 };
    return { limiter: new RateLimiter({ limit, windowMs, now: () => clock.t }), clock };
  };

  test('allows `limit` messages per window, then asks for one notice, then stays silent', () => {
    const { limiter } = make(3);
    expect([1, 2, 3].map(() => limiter.hit('@u:hs'))).toEqual(['allowed', 'allowed', 'allowed']);
    expect(limiter.hit('@u:hs')).toBe('limited-notify');
    expect(limiter.hit('@u:hs')).toBe('limited');
  });

  test('the window slides: old messages stop counting', () => {
    const { limiter, clock } = make(2, 1000);
    limiter.hit('@u:hs');
    clock.t = 500;
    limiter.hit('@u:hs');
    expect(limiter.hit('@u:hs')).toBe('limited-notify');
    clock.t = 1000; // the first message left the window
    expect(limiter.hit('@u:hs')).toBe('allowed');
    expect(limiter.hit('@u:hs')).toBe('limited-notify'); // a new burst gets a new notice
  });

  test('users are limited separately', () => {
    const { limiter } = make(1);
    expect(limiter.hit('@u:hs')).toBe('allowed');
    expect(limiter.hit('@v:hs')).toBe('allowed');
    expect(limiter.hit('@u:hs')).toBe('limited-notify');
  });

  test('hasRoom looks without counting', () => {
    const { limiter, clock } = make(1, 1000);
    expect(limiter.hasRoom('@u:hs')).toBe(true);
    expect(limiter.hasRoom('@u:hs')).toBe(true);
    limiter.hit('@u:hs');
    expect(limiter.hasRoom('@u:hs')).toBe(false);
    clock.t = 1000;
    expect(limiter.hasRoom('@u:hs')).toBe(true);
  });

  test('rejects nonsense options', () => {
    expect(() => new RateLimiter({ limit: 0, windowMs: 1 })).toThrow(/limit/);
    expect(() => new RateLimiter({ limit: 1, windowMs: -1 })).toThrow(/windowMs/);
  });

  test('a round of tools is charged to the person the answer is for; personas and nobody are not charged', () => {
    const { limiter } = make(2);
    const isPersona = (userId: string) => userId.startsWith('@persona_');
    expect(chargeToolRound(limiter, isPersona, '@persona_ada:hs')).toBe(true);
    expect(chargeToolRound(limiter, isPersona, null)).toBe(true);
    expect([1, 2, 3].map(() => chargeToolRound(limiter, isPersona, '@u:hs'))).toEqual([true, true, false]);
    // Only the person's budget was spent.
    expect(limiter.hit('@persona_ada:hs')).toBe('allowed');
  });
});
