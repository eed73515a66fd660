/**
 * Ask a session's kernel who holds its heap and wait for the answer: the exported report ends with
 * the holders after the last cell, as `heapscope report` does. The scan goes through the model's
 * holders state, so an open Holders view shows its progress and answer too.
 */
import type { IHolders } from '../comm/protocol';
import type { IHeapSession } from '../tracker/tokens';
import type { HoldersState } from './state';

/**
 * How long the export waits for the kernel's holders, in milliseconds (the kernel's target is 10 s
 * for 10 million objects).
 */
export const HOLDERS_TIMEOUT = 20_000;

/**
 * Scan the session's kernel (or join the scan running) and wait for the answer.
 *
 * @param session - the notebook's heap session.
 * @param timeout - milliseconds to wait.
 * @returns the holders; null when the kernel answered without them; undefined when nothing could be
 *   asked (no heapscope kernel) or no answer came in time.
 */
export function scanHolders(session: IHeapSession, timeout = HOLDERS_TIMEOUT): Promise<IHolders | null | undefined> {
  const state = session.model.holders;
  return new Promise(resolve => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const finish = (result: IHolders | null | undefined) => {
      state.changed.disconnect(onChanged);
      if (timer !== null) {
        clearTimeout(timer);
      }
      resolve(result);
    };
    const onChanged = (_: HoldersState, kind: HoldersState.ChangeKind) => {
      if (kind === 'result') {
        finish(state.phase === 'done' ? state.holders : null);
      } else if (kind === 'clear') {
        finish(undefined);
      }
    };
    state.changed.connect(onChanged);
    if (state.phase !== 'scanning') {
      if (session.state !== 'connected' || !session.send) {
        finish(undefined);
        return;
      }
      state.begin();
      if (!session.send({ type: 'holders' })) {
        state.fail('the request could not be sent to the kernel');
        return;
      }
    }
    timer = setTimeout(() => finish(undefined), timeout);
  });
}
