/**
 * The kernel's home directory, asked once per kernel: jupyter_server reports a root under $HOME
 * as `~/…`, and the kernel's frames have absolute paths.
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';

import { expandServerRoot, rootNeedsHome } from './paths';

/**
 * The expression the kernel evaluates (a `user_expressions` entry of a silent, history-less
 * execute request: IPython runs no cell hooks for it, so no run is recorded).
 */
export const HOME_EXPRESSION = "__import__('os').path.expanduser('~')";

/**
 * Ask a kernel for its home directory.
 *
 * @param kernel - the kernel connection.
 * @returns the absolute home directory, or null when the kernel did not say (error, not an
 *   absolute path, or a repr this parser does not read).
 */
export async function kernelHome(kernel: Kernel.IKernelConnection): Promise<string | null> {
  try {
    const future = kernel.requestExecute({
      code: '',
      silent: true,
      store_history: false,
      user_expressions: { home: HOME_EXPRESSION },
      allow_stdin: false,
      stop_on_error: false
    });
    const reply = (await future.done) as KernelMessage.IExecuteReplyMsg | undefined;
    const content = reply?.content;
    if (!content || content.status !== 'ok') {
      return null;
    }
    return parseHomeExpression(content.user_expressions?.home);
  } catch {
    return null;
  }
}

/**
 * Read the home directory from a `user_expressions` result: its `text/plain` is the Python repr
 * of a string. Only a plain single-quoted repr without escapes is read (a path with quotes,
 * backslashes or unprintable characters gives null: no file links rather than wrong ones).
 *
 * @param result - the `user_expressions` entry.
 */
export function parseHomeExpression(result: unknown): string | null {
  const entry = result as { status?: unknown; data?: { 'text/plain'?: unknown } } | null | undefined;
  const text = entry?.status === 'ok' ? entry.data?.['text/plain'] : undefined;
  if (typeof text !== 'string') {
    return null;
  }
  const match = /^'([^'\\]*)'$/.exec(text);
  const home = match ? match[1] : null;
  return home !== null && home.startsWith('/') ? home : null;
}

/**
 * The server's root as an absolute path for each kernel, asking a kernel for its home once
 * when the root is `~/…`.
 */
export class ServerRoots {
  /**
   * @param options - how to ask a kernel (default {@link kernelHome}) and what to call when an
   *   answer arrives (e.g. draw the file links again).
   */
  constructor(options: ServerRoots.IOptions) {
    this._ask = options.ask ?? kernelHome;
    this._onKnown = options.onKnown;
  }

  /**
   * The absolute server root for a kernel's frames; '' while the home is not known yet (the
   * kernel is asked once; {@link ServerRoots.IOptions.onKnown} is called with its answer).
   *
   * @param serverRoot - the root as the server reports it (`PageConfig` `serverRoot`).
   * @param kernel - the kernel whose frames are compared, or null.
   */
  resolve(serverRoot: string, kernel: Kernel.IKernelConnection | null | undefined): string {
    if (!rootNeedsHome(serverRoot)) {
      return serverRoot;
    }
    if (!kernel) {
      return '';
    }
    const known = this._homes.get(kernel.id);
    if (known !== undefined) {
      return known === null ? '' : expandServerRoot(serverRoot, known);
    }
    if (!this._pending.has(kernel.id)) {
      this._pending.add(kernel.id);
      void this._ask(kernel).then(home => {
        this._pending.delete(kernel.id);
        this._homes.set(kernel.id, home);
        this._onKnown();
      });
    }
    return '';
  }

  private _ask: (kernel: Kernel.IKernelConnection) => Promise<string | null>;
  private _onKnown: () => void;
  private _homes = new Map<string, string | null>();
  private _pending = new Set<string>();
}

/**
 * A namespace for ServerRoots statics.
 */
export namespace ServerRoots {
  /**
   * The options of {@link ServerRoots}.
   */
  export interface IOptions {
    /**
     * Asks a kernel for its home directory (default {@link kernelHome}).
     */
    ask?: (kernel: Kernel.IKernelConnection) => Promise<string | null>;
    /**
     * Called when a kernel's answer arrives.
     */
    onKnown: () => void;
  }
}
