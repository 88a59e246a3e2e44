-- Redactions reach chapter summaries (issue 14): a redaction marks every chapter whose range
-- covered the redacted message as stale. A stale chapter is kept out of prompts and `!summary`
-- until the Summarizer rewrites it from the messages still stored in its range (or deletes it
-- when none are left). The value counts redactions, so a rewrite that raced another redaction
-- does not clear the flag (it only clears the value it read).
ALTER TABLE memory_summaries ADD COLUMN stale INTEGER NOT NULL DEFAULT 0;
