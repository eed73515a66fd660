/**
 * The `heapscope:guard` plugin: a notification when a cell crosses the soft threshold, when the
 * guard stops a cell, and when a kernel died in a cell (issue 12).
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { IDisposable } from '@lumino/disposable';

import { CommandIDs } from '../commands';
import { IHeapTracker } from '../tracker/tokens';
import { guardNotifier } from './commands';

/**
 * The guard plugin.
 */
export const guardPlugin: JupyterFrontEndPlugin<void> = {
  id: 'heapscope:guard',
  description:
    'Notifies when a cell nears the kernel’s memory limit, is stopped by the memory guard, or the kernel died.',
  autoStart: true,
  requires: [IHeapTracker],
  activate: (app: JupyterFrontEnd, tracker: IHeapTracker): void => {
    const follow = guardNotifier(app, CommandIDs.showCell);
    const extension: DocumentRegistry.IWidgetExtension<NotebookPanel, DocumentRegistry.IModel> = {
      createNew: (panel: NotebookPanel): IDisposable | void => {
        follow(tracker.sessionFor(panel));
      }
    };
    app.docRegistry.addWidgetExtension('Notebook', extension);
  }
};
