/**
 * A reaction's key as people mean it: clients send the same emoji with or without a variation
 * selector (U+FE0F, U+FE0E), with a skin tone (👍🏽), or with stray spaces, and all of those are
 * the same reaction. Used wherever a reaction's key is compared with the ones we act on.
 */
export function normalizeReactionKey(key: string): string {
  return key
    .normalize('NFC')
    .replace(/[\uFE0E\uFE0F]|\u{1F3FB}|\u{1F3FC}|\u{1F3FD}|\u{1F3FE}|\u{1F3FF}/gu, '')
    .trim();
}
