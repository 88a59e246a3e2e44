// What people read about the per-person rate limit: the one place for these strings.

/** Said once per burst when a person's rate limit (`dispatch.user_rate_limit`) is reached. */
export function rateLimitNotice(limit: { messages: number; window_seconds: number }, prefix: string): string {
  const { messages, window_seconds: seconds } = limit;
  return (
    `Sorry, that is more than I can keep up with: I answer at most ${messages} message${messages === 1 ? '' : 's'} ` +
    `per ${seconds} seconds from one person (each turn of a scene you start, ${prefix}next and 🔁 count too). I'll skip messages until then.`
  );
}
