/**
 * The "Return freed memory" command (panel toolbar and palette) and the guard's notifications.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';

import type { BrowserRequest } from '../comm/protocol';
import type { IHeapSession, IHeapTracker } from '../tracker/tokens';
import { releaseIcon } from './icons';
import { releaseMemory } from './release';
import { guardStateFor, GuardState, IGuardAlert } from './state';
import { releaseText } from './text';

/**
 * The id of the "Return freed memory" command.
 */
export const RELEASE_MEMORY_COMMAND = 'heapscope:release-memory';

/**
 * Add the "Return freed memory" command.
 *
 * @param app - the application.
 * @param tracker - the heap tracker (its current session is asked).
 * @param trans - translations.
 * @param onResult - also told the result's text (the panel shows it).
 */
export function addReleaseCommand(
  app: JupyterFrontEnd,
  tracker: IHeapTracker,
  trans: TranslationBundle,
  onResult?: (text: string) => void
): void {
  app.commands.addCommand(RELEASE_MEMORY_COMMAND, {
    label: trans.__('Return Freed Memory'),
    caption: trans.__(
      'Ask the kernel to return memory that was freed but kept by the allocator to the system (malloc_trim), and say how much RSS it gave back'
    ),
    icon: releaseIcon,
    isEnabled: () => tracker.current !== null,
    execute: async () => {
      // `send` is the session's generic request (optional in IHeapSession).
      const session = tracker.current as (IHeapSession & { send?: (request: BrowserRequest) => boolean }) | null;
      const outcome = await releaseMemory(
        session
          ? {
              model: session.model,
              state: session.state,
              releaseMemory: () =>
                typeof session.send === 'function' ? session.send({ type: 'release_memory' }) : false
            }
          : null
      );
      const text = releaseText(outcome);
      onResult?.(text);
      if (outcome.kind === 'released') {
        Notification.success(text, { autoClose: 6000 });
      } else {
        Notification.warning(text, { autoClose: 8000 });
      }
      return outcome.kind;
    }
  });
}

/**
 * Notify every guard alert once (soft threshold, guard stop, kernel death).
 *
 * @param app - the application.
 * @param showCellCommand - the command a notification's button runs with `{seq}`.
 * @returns a function to call with each notebook's session (again is harmless).
 */
export function guardNotifier(app: JupyterFrontEnd, showCellCommand: string): (session: IHeapSession) => void {
  const followed = new WeakSet<GuardState>();
  return (session: IHeapSession) => {
    const state = guardStateFor(session.model);
    if (followed.has(state)) {
      return;
    }
    followed.add(state);
    state.alerted.connect((_, alert) => notify(app, session, alert, showCellCommand));
  };
}

/**
 * Show one alert.
 */
function notify(app: JupyterFrontEnd, session: IHeapSession, alert: IGuardAlert, showCellCommand: string): void {
  if (session.isDisposed) {
    return;
  }
  const name = session.notebookPanel.title.label;
  const text = name ? `${alert.text} — ${name}` : alert.text;
  const actions =
    alert.seq !== null
      ? [
          {
            label: alert.kind === 'killed' ? 'Post-mortem' : 'Show lines',
            caption: 'Show where this cell’s memory was allocated',
            callback: () => {
              void app.commands.execute(showCellCommand, { seq: alert.seq! });
            }
          }
        ]
      : [];
  switch (alert.kind) {
    case 'soft':
      Notification.warning(text, { autoClose: 10000, actions });
      break;
    case 'hard':
      Notification.warning(text, { autoClose: 15000, actions });
      break;
    case 'killed':
      Notification.error(text, { autoClose: false, actions });
      break;
  }
}
