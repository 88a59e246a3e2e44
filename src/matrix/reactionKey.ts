/**
 * A reaction's key as people mean it: clients send the same emoji with or without a variation
 * selector (U+FE0F, U+FE0E), with a skin tone (👍🏽), or with stray spaces, and all of those are
 * the same reaction. White space anywhere and every code point Unicode marks as
 * default-ignorable (variation selectors, zero-width spaces and joiners…) go: `"🔁 "`,
 * `"🔁\u200b"` and `"🔁"` are different keys to the homeserver, which de-duplicates reactions by
 * the exact key, but one to us. Used wherever a reaction's key is compared with the ones we act
 * on, and to de-duplicate them (reply/reactionKeys.ts).
 */
export function normalizeReactionKey(key: string): string {
  return key.normalize('NFC').replace(/[\s\p{Default_Ignorable_Code_Point}]|\u{1F3FB}|\u{1F3FC}|\u{1F3FD}|\u{1F3FE}|\u{1F3FF}/gu, '');
}
