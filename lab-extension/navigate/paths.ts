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
 * @param serverRoot - the server's root directory, absolute (expand a `~/…` root with
 *   {@link expandServerRoot} first).
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
 * Whether the server's root is given under the home directory (`~` or `~/…`): jupyter_server
 * writes a root inside $HOME that way, so it needs the home directory to compare with the
 * kernel's absolute paths.
 *
 * @param serverRoot - the root as the server reports it (`PageConfig` `serverRoot`).
 */
export function rootNeedsHome(serverRoot: string): boolean {
  return serverRoot === '~' || serverRoot.startsWith('~/');
}

/**
 * The server's root as an absolute path.
 *
 * @param serverRoot - the root as the server reports it: absolute, `~` or `~/…`.
 * @param home - the home directory (absolute), or null when unknown.
 * @returns the absolute root; '' (unknown, so no file is under it) for a `~` root without a home.
 */
export function expandServerRoot(serverRoot: string, home: string | null): string {
  if (!rootNeedsHome(serverRoot)) {
    return serverRoot;
  }
  if (home === null || !home.startsWith('/') || home.includes('\u0000')) {
    return '';
  }
  return (home.replace(/\/+$/, '') + serverRoot.slice(1)).replace(/\/+$/, '') || '/';
}

/**
 * What {@link canNavigateToFrame} needs to know.
 */
export interface INavigability {
  /**
   * Whether the notebook has a cell with this id.
   */
  readonly hasCell: (cellId: string) => boolean;
  /**
   * The server's root directory (absolute, see {@link expandServerRoot}), or '' when unknown.
   */
  readonly serverRoot: string;
  /**
   * Whether files can be opened in an editor at all (a document manager is there).
   */
  readonly canOpenFiles: boolean;
}

/**
 * Whether a frame can be jumped to: a line of a cell of this notebook, or a file under the
 * server's root that an editor can open. Other frames are shown as text.
 *
 * @param frame - a frame or site: `file`, `cell_id` and `cell_line`.
 * @param where - the notebook's cells and the server's root.
 */
export function canNavigateToFrame(
  frame: { readonly file: string; readonly cell_id: string | null; readonly cell_line: number | null },
  where: INavigability
): boolean {
  if (frame.cell_id !== null && frame.cell_line !== null && where.hasCell(frame.cell_id)) {
    return true;
  }
  return where.canOpenFiles && serverRelativePath(frame.file, where.serverRoot) !== null;
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
