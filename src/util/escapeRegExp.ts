/** Escapes text for use inside a RegExp, so names and server names match literally. */
export const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
