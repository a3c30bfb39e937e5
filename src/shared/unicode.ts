/** A lone surrogate: a high one not followed by a low one, or a low one not preceded by a high one. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const MAY_HAVE_SURROGATE = /[\ud800-\udfff]/;

/** Whether `text` holds a lone surrogate (no character: not valid Unicode, not encodable as UTF-8). */
export function hasLoneSurrogate(text: string): boolean {
  if (!MAY_HAVE_SURROGATE.test(text)) return false;
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(text);
}

/** `text` with every lone surrogate replaced by U+FFFD; the same string when it has none. */
export function wellFormedText(text: string): string {
  return MAY_HAVE_SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\ufffd') : text;
}
