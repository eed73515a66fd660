/**
 * Kernel strings made fit for display: never markup (callers use `textContent`), and with the
 * characters that could mislead a reader written visibly.
 */

/**
 * Make a kernel string safe to read: control, bidirectional-override and zero-width characters
 * become visible `\u{…}` escapes, lone surrogates become U+FFFD, and a string longer than `max`
 * characters is cut with an ellipsis.
 *
 * @param text - any string from the kernel (file and function names, source lines).
 * @param max - the longest result, in UTF-16 code units (default 512).
 * @returns plain text; put it into the DOM with `textContent` only.
 */
export function displayText(text: string, max = 512): string {
  let out = text
    .replace(Private.LONE_SURROGATE, '\ufffd')
    .replace(Private.INVISIBLE, c => `\\u{${c.charCodeAt(0).toString(16).padStart(4, '0')}}`);
  if (out.length > max) {
    out = `${out.slice(0, Math.max(0, max - 1))}…`;
  }
  return out;
}

/**
 * Shorten a path from the left, keeping its end (the file name) readable.
 *
 * @param path - a file path.
 * @param max - the longest result.
 * @returns `…` and the last `max - 1` characters when the path is longer.
 */
export function shortenPath(path: string, max = 48): string {
  return path.length > max ? `…${path.slice(path.length - (max - 1))}` : path;
}

/**
 * The first non-blank line of a source, trimmed.
 *
 * @param source - a cell's source.
 */
export function firstSourceLine(source: string): string {
  return (source.split('\n').find(l => l.trim() !== '') ?? '').trim();
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * C0 and C1 controls (tab kept out: it is shown as a space by the caller's CSS), bidi
   * embeddings, overrides and isolates, zero-width characters, line and paragraph separators and
   * the byte-order mark.
   */
  export const INVISIBLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

  /**
   * A UTF-16 surrogate without its pair (Python's `surrogateescape` strings reach us like this).
   */
  export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
}
