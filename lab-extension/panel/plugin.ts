/**
 * The `heapscope:panel` plugin: the Heap panel in the right sidebar and its commands.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, IThemeManager } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { clearIcon, CommandToolbarButton, Toolbar } from '@jupyterlab/ui-components';

import { CommandIDs } from '../commands';
import { IHeapTracker } from '../tracker/tokens';
import { heapIcon } from './icon';
import { HeapPanel, PANEL_ID } from './panel';

/**
 * The Heap panel plugin.
 */
export const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'heapscope:panel',
  description: 'The Heap panel: a chart of the current notebook’s heap across executed cells.',
  autoStart: true,
  requires: [IHeapTracker],
  optional: [ILayoutRestorer, ICommandPalette, IThemeManager, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: IHeapTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    themeManager: IThemeManager | null,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('heapscope');
    const { commands, shell } = app;

    commands.addCommand(CommandIDs.openPanel, {
      label: trans.__('Show Heap Panel'),
      caption: trans.__('Show the heap chart of the current notebook'),
      icon: heapIcon,
      execute: () => shell.activateById(PANEL_ID)
    });
    commands.addCommand(CommandIDs.clearHistory, {
      label: trans.__('Clear Heap History'),
      caption: trans.__('Ask the kernel to forget the heap figures of finished cells'),
      icon: clearIcon,
      isEnabled: () => tracker.current?.state === 'connected',
      execute: () => {
        tracker.current?.clearHistory();
      }
    });

    const toolbar = new Toolbar();
    toolbar.addItem(
      'clear-history',
      new CommandToolbarButton({ commands, id: CommandIDs.clearHistory, label: '' })
    );
    const panel = new HeapPanel({ tracker, toolbar, translator: translator ?? undefined });
    panel.stateChanged.connect(() => commands.notifyCommandChanged(CommandIDs.clearHistory));
    shell.add(panel, 'right', { rank: 600 });
    restorer?.add(panel, PANEL_ID);

    themeManager?.themeChanged.connect(() => panel.chart.refreshTheme());
    if (palette) {
      const category = trans.__('Heap Profiler');
      palette.addItem({ command: CommandIDs.openPanel, category });
      palette.addItem({ command: CommandIDs.clearHistory, category });
    }
  }
};
