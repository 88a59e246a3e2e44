-- A persona's voice (issue 25): the voice name its answers are spoken in by speech.synthesis
-- (NULL: it writes only), and when it speaks: `to_voice` answers voice with voice (NULL
-- means this default), `always`, or `never`.
ALTER TABLE personas ADD COLUMN voice TEXT;
ALTER TABLE personas ADD COLUMN voice_replies TEXT CHECK (voice_replies IN ('to_voice', 'always', 'never'));
