// What people read when one of our users cannot read their encrypted messages. Plain words and
// what to do about it: the person on the other side cannot see our logs.

/** Why an encrypted event could not be read. */
export type UndecryptableReason =
  /** The bridge runs without end-to-end encryption (encryption.enabled is false). */
  | 'encryption_disabled'
  /** Encryption is on, but this event's keys never reached us (or decryption failed). */
  | 'cannot_decrypt';

export function undecryptableNotice(reason: UndecryptableReason): string {
  switch (reason) {
    case 'encryption_disabled':
      return (
        "I can't read messages in this room: it is end-to-end encrypted, and encryption support is " +
        'not enabled on this bridge, so your messages reach me only as unreadable ciphertext. ' +
        'To talk to me, start a new chat with encryption turned off, or ask your homeserver admin to ' +
        'enable encryption support for the personas bridge (admin guide: "Encrypted rooms"). ' +
        "I won't repeat this notice in this room."
      );
    case 'cannot_decrypt':
      return (
        "I couldn't decrypt a message in this room: its keys never reached me. If your app offers " +
        "it, verify or re-send; otherwise start a new chat. If it keeps happening, ask your homeserver " +
        'admin to check the bridge\'s encryption set-up (admin guide: "Encrypted rooms"). ' +
        "I won't repeat this notice in this room."
      );
  }
}
