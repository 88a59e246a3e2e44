-- "Forget me" and `!forget <n>` (issue 27): a chapter summary that named a person who asked to
-- be forgotten is blanked at once and marked stale; the Summarizer rewrites it from the
-- messages left, told to leave out the names listed here (JSON array of strings).
ALTER TABLE memory_summaries ADD COLUMN leave_out TEXT NOT NULL DEFAULT '[]';
