-- Live answers per persona (issue: live replies): NULL follows replies.live, 0 turns live
-- (streamed by edits) answers off for this persona, 1 turns them on.
ALTER TABLE personas ADD COLUMN live INTEGER CHECK (live IN (0, 1));
