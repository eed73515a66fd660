/**
 * Whether the Lab server's file of a frame's path holds the code that ran in the kernel. Pure.
 *
 * A kernel may run on another host (a gateway, a container) where the same absolute path names
 * another file, or none. The kernel sends the text of each file frame's line (`source`); the panel
 * opens the server's file only when that line of it reads the same, never by path alone.
 */
import type { IFrame } from '../comm/protocol';

/**
 * The marker the kernel ends a string with when it cut it to the schema's limit.
 */
export const TRUNCATION_MARKER = '…[truncated]';

/**
 * Whether `text` (a file's content on the Lab server) holds, at the frame's line, the text the
 * kernel read there.
 *
 * @param frame - a file frame with `line` and, from the kernel, `source`.
 * @param text - the content of the server's file of that path.
 * @returns false without the kernel's text or a line number: then it cannot be told.
 */
export function holdsFrameLine(frame: Pick<IFrame, 'line' | 'source'>, text: string): boolean {
  const source = frame.source;
  if (frame.line === null || frame.line < 1 || source === undefined || source === '') {
    return false;
  }
  const line = text.split(/\r\n|\r|\n/)[frame.line - 1];
  if (line === undefined) {
    return false;
  }
  const here = line.trim();
  if (source.endsWith(TRUNCATION_MARKER)) {
    return here.startsWith(source.slice(0, -TRUNCATION_MARKER.length));
  }
  return here === source;
}
