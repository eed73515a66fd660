/**
 * Which kernel file paths the Jupyter server can open. Pure.
 */

/**
 * The path of a file relative to the server's root, when the file is under it.
 *
 * Compared by path components after resolving `.` and `..`, never by string prefix (`/srv/root2`
 * is not under `/srv/root`).
 *
 * @param file - an absolute POSIX path from the kernel.
 * @param serverRoot - the server's root directory (absolute; `~` is not expanded).
 * @returns the relative path (`''` never: the root itself is no file), or null when the file is
 *   elsewhere, relative, a pseudo-file such as `<frozen runpy>`, or the root is unknown.
 */
export function serverRelativePath(file: string, serverRoot: string): string | null {
  if (!file.startsWith('/') || !serverRoot.startsWith('/') || file.includes('\u0000')) {
    return null;
  }
  const parts = Private.normalize(file);
  const root = Private.normalize(serverRoot);
  if (parts === null || root === null || parts.length <= root.length) {
    return null;
  }
  for (let i = 0; i < root.length; i++) {
    if (parts[i] !== root[i]) {
      return null;
    }
  }
  const rest = parts.slice(root.length);
  // Hidden files and folders are not served by default.
  if (rest.some(part => part.startsWith('.'))) {
    return null;
  }
  return rest.join('/');
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * The components of an absolute path with `.`, `..` and empty parts resolved; null when `..`
   * climbs above `/`.
   */
  export function normalize(path: string): string[] | null {
    const out: string[] = [];
    for (const part of path.split('/')) {
      if (part === '' || part === '.') {
        continue;
      }
      if (part === '..') {
        if (out.length === 0) {
          return null;
        }
        out.pop();
        continue;
      }
      out.push(part);
    }
    return out;
  }
}
