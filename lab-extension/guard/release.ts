/**
 * "Return freed memory": send `release_memory` and wait for the kernel's `released` answer.
 */
import type { HeapModel } from '../model/model';
import type { IHeapSession } from '../tracker/tokens';
import type { ReleaseOutcome } from './text';

/**
 * How long the answer is waited for, in milliseconds (without subshells a running cell holds it).
 */
export const RELEASE_TIMEOUT_MS = 15000;

/**
 * The part of a heap session "Return freed memory" uses.
 */
export type IReleaseSession = Pick<IHeapSession, 'model' | 'state'> & {
  releaseMemory(): boolean;
};

/**
 * Ask a session's kernel to return freed memory to the system (`malloc_trim(0)`).
 *
 * @param session - the notebook's heap session, or null.
 * @param timeoutMs - how long to wait for the answer.
 * @returns what the kernel answered: the `released` figures; `unsupported` when a status without
 *   `released` came back (a kernel without the guard); `not-heapscope`, `no-kernel`, `timeout`.
 */
export function releaseMemory(
  session: IReleaseSession | null,
  timeoutMs: number = RELEASE_TIMEOUT_MS
): Promise<ReleaseOutcome> {
  if (!session) {
    return Promise.resolve({ kind: 'no-kernel' });
  }
  if (session.state === 'not-heapscope') {
    return Promise.resolve({ kind: 'not-heapscope' });
  }
  if (session.state !== 'connected') {
    return Promise.resolve({ kind: 'no-kernel' });
  }
  const model = session.model;
  const before = model.status?.released?.at ?? null;
  return new Promise<ReleaseOutcome>(resolve => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const finish = (outcome: ReleaseOutcome) => {
      model.changed.disconnect(onChanged);
      if (timer !== null) {
        clearTimeout(timer);
      }
      resolve(outcome);
    };
    const onChanged = (_: HeapModel, args: HeapModel.IChangedArgs) => {
      if (args.kind !== 'status' && args.kind !== 'history') {
        return;
      }
      const status = model.status;
      if (!status) {
        return;
      }
      if (status.released === undefined) {
        finish({ kind: 'unsupported' });
      } else if (status.released !== null && status.released.at !== before) {
        finish({ kind: 'released', released: status.released });
      }
    };
    model.changed.connect(onChanged);
    if (!session.releaseMemory()) {
      finish({ kind: 'no-kernel' });
      return;
    }
    timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
  });
}
