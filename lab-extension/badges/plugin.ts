/**
 * The `heapscope:badges` plugin: a memory badge under every executed code cell.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { CommandIDs } from '../commands';
import { IHeapTracker } from '../tracker/tokens';
import { BadgeExtension } from './extension';
import { BadgeSettings, readThresholds } from './thresholds';

/**
 * The badges plugin; its settings (schema/badges.json) hold the colouring thresholds, the runs
 * listed in tooltips and whether figures are saved in the notebook.
 */
export const badgesPlugin: JupyterFrontEndPlugin<void> = {
  id: 'heapscope:badges',
  description: 'Shows each executed code cell’s net heap change and peak in a badge under the cell.',
  autoStart: true,
  requires: [IHeapTracker],
  optional: [ISettingRegistry],
  activate: (app: JupyterFrontEnd, tracker: IHeapTracker, registry: ISettingRegistry | null): void => {
    const settings = new BadgeSettings();
    const onActivate = (cellId: string) => {
      void app.commands.execute(CommandIDs.showCell, { cellId });
    };
    app.docRegistry.addWidgetExtension('Notebook', new BadgeExtension({ tracker, settings, onActivate }));
    if (registry) {
      registry
        .load(badgesPlugin.id)
        .then(loaded => {
          const apply = () => {
            settings.thresholds = readThresholds(loaded.composite);
            settings.persist = loaded.composite.persistInMetadata === true;
            settings.tooltipRuns = Number(loaded.composite.tooltipRuns ?? 5);
          };
          apply();
          loaded.changed.connect(apply);
        })
        .catch(reason => console.error('heapscope: could not load the badge settings', reason));
    }
  }
};
