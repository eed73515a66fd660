/**
 * heapscope: a per-cell heap profiler for JupyterLab.
 *
 * The plugins: `heapscope:tracker` (kernel connection and heap model per notebook),
 * `heapscope:panel` (the Heap panel) and `heapscope:badges` (the badges under cells).
 */
import type { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { badgesPlugin } from './badges/plugin';
import { panelPlugin } from './panel/plugin';
import { trackerPlugin } from './tracker/plugin';

export { CommandIDs } from './commands';
export { IHeapSession, IHeapTracker } from './tracker/tokens';

/**
 * Every plugin of the extension.
 */
const plugins: JupyterFrontEndPlugin<any>[] = [trackerPlugin, panelPlugin, badgesPlugin];

export default plugins;
