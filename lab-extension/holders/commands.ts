/**
 * The command "Heap: Find Who Holds Memory": opens the Heap panel's Holders view and asks the
 * current notebook's kernel who holds its heap.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';

import type { IHeapTracker } from '../tracker/tokens';
import type { HoldersView } from './view';

/**
 * The ids of the holders commands.
 */
export namespace HoldersCommandIDs {
  /**
   * Show the Holders view and scan the current notebook's kernel.
   */
  export const findHolders = 'heapscope:find-holders';
}

/**
 * Add the holders command.
 *
 * @param commands - the application's command registry.
 * @param options - the tracker, how to show the view, and translations.
 * @returns the ids added (for the palette).
 */
export function addHoldersCommands(commands: JupyterFrontEnd['commands'], options: IHoldersCommandOptions): string[] {
  const trans = options.trans;
  commands.addCommand(HoldersCommandIDs.findHolders, {
    label: trans.__('Heap: Find Who Holds Memory'),
    caption: trans.__(
      'Show which names, outputs and tracebacks keep memory alive in the current notebook’s kernel, and what deleting each would free'
    ),
    execute: () => {
      const session = options.tracker.current;
      if (!session) {
        Notification.warning(trans.__('Open a notebook first: the holders are those of its kernel.'), {
          autoClose: 6000
        });
        return;
      }
      const view = options.showView();
      if (session.state !== 'connected') {
        // The view says why too; a notification reaches users whose panel is closed.
        Notification.warning(
          session.state === 'not-heapscope'
            ? trans.__(
                'The kernel “%1” does not run heapscope: choose “Python 3 (heapscope)” to see who holds memory.',
                session.sessionContext.kernelDisplayName
              )
            : trans.__('The notebook is not connected to a heapscope kernel yet.'),
          { autoClose: 8000 }
        );
      }
      view?.scan();
    }
  });
  return [HoldersCommandIDs.findHolders];
}

/**
 * What {@link addHoldersCommands} needs.
 */
export interface IHoldersCommandOptions {
  /**
   * The heap tracker (the current notebook's session).
   */
  readonly tracker: IHeapTracker;
  /**
   * Show the Heap panel's Holders view and return it (null without a panel).
   */
  readonly showView: () => HoldersView | null;
  /**
   * The translation bundle.
   */
  readonly trans: TranslationBundle;
}
