/**
 * The `heapscope:badges` plugin: a memory badge under every executed code cell.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { IHeapTracker } from '../tracker/tokens';
import { BadgeExtension } from './extension';
import { BadgeSettings, readThresholds } from './thresholds';

/**
 * The badges plugin; its settings (schema/badges.json) hold the colouring thresholds.
 */
export const badgesPlugin: JupyterFrontEndPlugin<void> = {
  id: 'heapscope:badges',
  description: 'Shows each executed code cell’s net heap change and peak in a badge under the cell.',
  autoStart: true,
  requires: [IHeapTracker],
  optional: [ISettingRegistry],
  activate: (app: JupyterFrontEnd, tracker: IHeapTracker, registry: ISettingRegistry | null): void => {
    const settings = new BadgeSettings();
    app.docRegistry.addWidgetExtension('Notebook', new BadgeExtension({ tracker, settings }));
    if (registry) {
      registry
        .load(badgesPlugin.id)
        .then(loaded => {
          const apply = () => {
            settings.thresholds = readThresholds(loaded.composite);
          };
          apply();
          loaded.changed.connect(apply);
        })
        .catch(reason => console.error('heapscope: could not load the badge settings', reason));
    }
  }
};
