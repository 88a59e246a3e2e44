-- Who has been told that a persona is an AI character (issue 27; EU AI Act Art. 50): with
-- `disclosure: first_contact`, the first answer a person gets from a persona in a direct chat
-- carries a note saying so, once per person and persona, across restarts.
CREATE TABLE persona_disclosures (
  user_id TEXT NOT NULL,
  persona_id TEXT NOT NULL,
  disclosed_at INTEGER NOT NULL, -- ms since epoch
  PRIMARY KEY (user_id, persona_id)
) WITHOUT ROWID;
