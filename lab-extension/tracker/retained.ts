/**
 * Ask a session's kernel for the heap alive now by cell and wait for the answer: the export and the
 * budget badges both need a fresh `retained_by_cell` before they judge or write it.
 */
import type { IHeapSession } from './tokens';

/**
 * How long to wait for the kernel's `retained_by_cell` answer by default, in milliseconds.
 */
export const RETAINED_TIMEOUT = 3000;

/**
 * Resolves when the model has the kernel's answer, at once when the kernel cannot answer (no line-level
 * attribution, or the request could not be sent), or after `timeout` ms; never rejects.
 */
export function freshRetained(session: IHeapSession, timeout = RETAINED_TIMEOUT): Promise<void> {
  return new Promise(resolve => {
    const model = session.model;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const done = () => {
      model.changed.disconnect(onChange);
      if (timer !== null) {
        clearTimeout(timer);
      }
      resolve();
    };
    const onChange = (_: unknown, args: { kind: string }) => {
      if (args.kind === 'retained') {
        done();
      }
    };
    model.changed.connect(onChange);
    if (model.status?.attribution === false || !session.requestRetained()) {
      done();
      return;
    }
    timer = setTimeout(done, timeout);
  });
}
