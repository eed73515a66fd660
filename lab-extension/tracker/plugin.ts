/**
 * The `heapscope:tracker` plugin: provides {@link IHeapTracker}.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';

import { HeapTracker } from './tracker';
import { IHeapTracker } from './tokens';

/**
 * The heap tracker plugin: one kernel connection and heap model per open notebook.
 */
export const trackerPlugin: JupyterFrontEndPlugin<IHeapTracker> = {
  id: 'heapscope:tracker',
  description: 'Connects every notebook to its heapscope kernel agent and keeps its heap model.',
  autoStart: true,
  requires: [INotebookTracker],
  provides: IHeapTracker,
  activate: (app: JupyterFrontEnd, notebookTracker: INotebookTracker): IHeapTracker => {
    return new HeapTracker({ notebookTracker });
  }
};
