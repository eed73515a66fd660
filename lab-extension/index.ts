/**
 * heapscope: a per-cell heap profiler for JupyterLab.
 *
 * The plugins: `heapscope:tracker` (kernel connection and heap model per notebook),
 * `heapscope:panel` (the Heap panel), `heapscope:badges` (the badges under cells) and
 * `heapscope:report` (the exported memory report).
 */
import type { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { badgesPlugin } from './badges/plugin';
import { budgetPlugin } from './budget/plugin';
import { guardPlugin } from './guard/plugin';
import { panelPlugin } from './panel/plugin';
import { reportPlugin } from './report/plugin';
import { trackerPlugin } from './tracker/plugin';

export { CommandIDs } from './commands';
export { IHeapSession, IHeapTracker } from './tracker/tokens';

/**
 * Every plugin of the extension.
 */
const plugins: JupyterFrontEndPlugin<unknown>[] = [
  trackerPlugin,
  panelPlugin,
  badgesPlugin,
  budgetPlugin,
  reportPlugin,
  guardPlugin
];

export default plugins;
