/**
 * The `heapscope:tracker` plugin: provides {@link IHeapTracker}; its settings (schema/tracker.json)
 * are what every kernel is asked for (`configure`).
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { readConfiguration } from './configuration';
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
  optional: [ISettingRegistry],
  provides: IHeapTracker,
  activate: (
    app: JupyterFrontEnd,
    notebookTracker: INotebookTracker,
    registry: ISettingRegistry | null
  ): IHeapTracker => {
    const tracker = new HeapTracker({ notebookTracker });
    if (registry) {
      registry
        .load(trackerPlugin.id)
        .then(settings => {
          const apply = () => {
            tracker.configuration = readConfiguration(settings.composite);
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => console.error('heapscope: could not load the profiler settings', reason));
    } else {
      tracker.configuration = readConfiguration({});
    }
    return tracker;
  }
};
