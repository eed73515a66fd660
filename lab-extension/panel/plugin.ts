/**
 * The `heapscope:panel` plugin: the Heap panel in the right sidebar, its toolbar and its commands.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, IThemeManager, showDialog } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { clearIcon, CommandToolbarButton, downloadIcon, Toolbar } from '@jupyterlab/ui-components';

import { CommandIDs } from '../commands';
import { addReleaseCommand } from '../guard/commands';
import { addHoldersCommands } from '../holders/commands';
import { ServerRoots } from '../navigate/home';
import { navigateToFrame } from '../navigate/navigate';
import { heapscopeKernelSpec, isHeapscopeKernel } from '../remote/kernelspecs';
import { canNavigateToFrame, serverRelativePath } from '../navigate/paths';
import { isMyCodeFrame } from '../sites/listing';
import { DEFAULT_SITE_FILTER, ISiteFilter, readSiteFilter } from '../sites/siteFilter';
import { runSourceLookup } from '../sites/sites';
import { HEAPSCOPE_KERNEL } from '../tracker/configuration';
import { Throttle } from '../util/throttle';
import { IHeapSession, IHeapTracker } from '../tracker/tokens';
import { heapIcon } from './icon';
import { HeapPanel, PANEL_ID } from './panel';
import { ProfilerMemory } from './toolbar';

/**
 * The Heap panel plugin.
 */
export const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'heapscope:panel',
  description:
    'The Heap panel: a chart of the current notebook’s heap across executed cells, cell details and retained memory.',
  autoStart: true,
  requires: [IHeapTracker],
  optional: [ILayoutRestorer, ICommandPalette, IThemeManager, ITranslator, ISettingRegistry, IDocumentManager],
  activate: (
    app: JupyterFrontEnd,
    tracker: IHeapTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    themeManager: IThemeManager | null,
    translator: ITranslator | null,
    registry: ISettingRegistry | null,
    docManager: IDocumentManager | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('heapscope');
    const { commands, shell } = app;
    const current = () => tracker.current;
    const connected = () => current()?.state === 'connected';
    const detailLimit = () => Math.min(1000, 10 * (tracker.configuration?.topN ?? 20));

    // A heapscope kernelspec is told by its metadata: gateways name kernelspecs their own way.
    const switchKernel = async (session: IHeapSession): Promise<void> => {
      const spec = heapscopeKernelSpec(session.sessionContext.specsManager.specs);
      await session.sessionContext.changeKernel({ name: spec?.name ?? HEAPSCOPE_KERNEL });
    };
    const onHeapscopeKernel = (session: IHeapSession) =>
      isHeapscopeKernel(session.sessionContext.specsManager.specs, session.sessionContext.session?.kernel?.name);
    // A root under $HOME comes as `~/…`: the kernel is asked for its home once, then the file
    // links are drawn again.
    const roots = new ServerRoots({ onKnown: () => panel.refreshViews() });
    const serverRoot = (session: IHeapSession) =>
      roots.resolve(PageConfig.getOption('serverRoot'), session.sessionContext.session?.kernel);
    const navigate = (session: IHeapSession, frame: Parameters<typeof navigateToFrame>[0]) => {
      void navigateToFrame(frame, {
        notebookPanel: session.notebookPanel,
        activate: id => shell.activateById(id),
        docManager,
        contents: app.serviceManager.contents,
        serverRoot: serverRoot(session)
      });
    };
    const canNavigate = (session: IHeapSession) => {
      const ids = new Set(session.notebookPanel.content.widgets.map(cell => cell.model.id));
      const where = {
        hasCell: (id: string) => ids.has(id),
        serverRoot: serverRoot(session),
        canOpenFiles: !!docManager
      };
      return (frame: Parameters<typeof navigateToFrame>[0]) => canNavigateToFrame(frame, where);
    };
    const isMine = (session: IHeapSession) => {
      const root = serverRoot(session);
      return (frame: Parameters<typeof navigateToFrame>[0]) =>
        isMyCodeFrame(frame, file => serverRelativePath(file, root));
    };
    let siteFilter: ISiteFilter = DEFAULT_SITE_FILTER;
    const lookup = (session: IHeapSession) =>
      runSourceLookup(session.model.cells, cellId => {
        const cell = session.notebookPanel.content.widgets.find(c => c.model.id === cellId);
        return cell?.model.sharedModel.getSource();
      });

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
      isEnabled: connected,
      execute: async () => {
        const session = current();
        if (!session) {
          return;
        }
        // The kernel forgets for good: ask first.
        const runs = session.model.cells.length;
        const result = await showDialog({
          title: trans.__('Clear the heap history?'),
          body: trans._n(
            'The kernel forgets the heap figures and lines of %1 finished cell run of “%2”. This cannot be undone.',
            'The kernel forgets the heap figures and lines of %1 finished cell runs of “%2”. This cannot be undone.',
            runs,
            session.notebookPanel.title.label
          ),
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: trans.__('Clear') })],
          defaultButton: 0
        });
        if (result.button.accept && current() === session) {
          session.clearHistory();
        }
      }
    });
    commands.addCommand(CommandIDs.showCell, {
      label: trans.__('Show Cell Memory Detail'),
      caption: trans.__('Show where a cell’s memory was allocated'),
      describedBy: {
        args: {
          type: 'object',
          properties: { cellId: { type: 'string' }, seq: { type: 'integer' } }
        }
      },
      execute: args => {
        shell.activateById(PANEL_ID);
        if (typeof args.seq === 'number') {
          panel.showRun(args.seq);
        } else {
          const cellId =
            typeof args.cellId === 'string' ? args.cellId : current()?.notebookPanel.content.activeCell?.model.id;
          if (!cellId || !panel.showCell(cellId)) {
            panel.showView('cell');
          }
        }
      }
    });
    commands.addCommand(CommandIDs.showRetained, {
      label: trans.__('Show Heap Retained by Cell'),
      caption: trans.__('Show the heap alive now, by the cell that allocated it'),
      execute: () => {
        shell.activateById(PANEL_ID);
        panel.showView('retained');
      }
    });
    commands.addCommand(CommandIDs.switchKernel, {
      label: trans.__('Switch Notebook to Python 3 (heapscope)'),
      caption: trans.__('Restart this notebook on the heapscope kernel to profile its memory'),
      isEnabled: () => !!current() && !onHeapscopeKernel(current()!),
      execute: async () => {
        const session = current();
        if (session) {
          await switchKernel(session);
        }
      }
    });
    commands.addCommand(CommandIDs.toggleMode, {
      label: () => {
        const status = current()?.model.status;
        const mode = status?.mode ?? tracker.configuration?.mode ?? 'default';
        const pending = status?.pending_mode;
        return pending && pending !== mode ? trans.__('Mode: %1 → %2', mode, pending) : trans.__('Mode: %1', mode);
      },
      caption: () => {
        const status = current()?.model.status;
        const next = (tracker.configuration?.mode ?? 'default') === 'exact' ? 'default' : 'exact';
        let text = trans.__('Profiling mode. Click to switch to %1.', next);
        if (status?.pending_mode) {
          text +=
            ' ' +
            (status.pending_mode_applies === 'restart'
              ? trans.__('The requested mode applies when the kernel restarts.')
              : trans.__('The requested mode applies from the next cell.'));
        }
        return text;
      },
      isEnabled: () => !!registry,
      execute: async () => {
        if (!registry) {
          return;
        }
        const next = (tracker.configuration?.mode ?? 'default') === 'exact' ? 'default' : 'exact';
        await registry.set('heapscope:tracker', 'mode', next);
      }
    });

    const toolbar = new Toolbar();
    toolbar.addItem(
      'export-report',
      new CommandToolbarButton({ commands, id: CommandIDs.exportReport, icon: downloadIcon, label: '' })
    );
    toolbar.addItem('clear-history', new CommandToolbarButton({ commands, id: CommandIDs.clearHistory, label: '' }));
    toolbar.addItem('spacer', Toolbar.createSpacerItem());
    toolbar.addItem('mode', new CommandToolbarButton({ commands, id: CommandIDs.toggleMode }));
    const memory = new ProfilerMemory({ tracker, trans });
    toolbar.addItem('profiler-memory', memory);

    const panel = new HeapPanel({
      tracker,
      toolbar,
      translator: translator ?? undefined,
      navigate,
      canNavigate,
      isMine,
      filter: () => siteFilter,
      lookup,
      limit: detailLimit,
      switchKernel
    });
    addReleaseCommand(app, tracker, trans, text => panel.guardBanner.showReleased(text));
    toolbar.insertAfter(
      'clear-history',
      'release-memory',
      new CommandToolbarButton({ commands, id: CommandIDs.releaseMemory, label: '' })
    );
    const holderCommands = addHoldersCommands(commands, {
      tracker,
      trans,
      showView: () => {
        shell.activateById(PANEL_ID);
        panel.showView('holders');
        return panel.holders;
      }
    });
    const refreshCommands = () => {
      for (const id of [
        CommandIDs.clearHistory,
        CommandIDs.toggleMode,
        CommandIDs.switchKernel,
        CommandIDs.exportReport,
        CommandIDs.releaseMemory
      ]) {
        if (commands.hasCommand(id)) {
          commands.notifyCommandChanged(id);
        }
      }
    };
    // A command's state follows the session model, which changes with every cell message; telling the
    // commands at each one re-rendered every toolbar and menu that shows them (~0.5 ms a cell in Run All).
    // A status (the mode, the kernel's state) or a new history is told at once.
    const commandsThrottle = new Throttle(refreshCommands, { interval: Private.COMMANDS_REFRESH_MS });
    panel.stateChanged.connect(refreshCommands);
    panel.modelChanged.connect((_, args) => {
      if (args.kind === 'status' || args.kind === 'history') {
        commandsThrottle.cancel();
        refreshCommands();
      } else {
        commandsThrottle.request();
      }
    });
    panel.disposed.connect(() => commandsThrottle.dispose());
    if (Private.addToRightArea(shell, panel)) {
      restorer?.add(panel, PANEL_ID);
    }

    themeManager?.themeChanged.connect(() => panel.refreshTheme());
    if (registry) {
      registry
        .load(panelPlugin.id)
        .then(settings => {
          const apply = () => {
            const rate = settings.composite.liveRate;
            panel.chart.liveRate = typeof rate === 'number' ? rate : 10;
            siteFilter = readSiteFilter(settings.composite);
            panel.refreshViews();
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => console.error('heapscope: could not load the panel settings', reason));
      // The mode label follows the setting too.
      registry.pluginChanged.connect((_, id) => {
        if (id === 'heapscope:tracker') {
          refreshCommands();
        }
      });
    }
    if (palette) {
      const category = trans.__('Heap Profiler');
      for (const command of [
        CommandIDs.openPanel,
        CommandIDs.clearHistory,
        CommandIDs.showCell,
        CommandIDs.showRetained,
        CommandIDs.toggleMode,
        CommandIDs.switchKernel,
        CommandIDs.releaseMemory,
        ...holderCommands
      ]) {
        palette.addItem({ command, category });
      }
    }
  }
};

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * The least time between two refreshes of the panel's commands while the session model changes.
   */
  export const COMMANDS_REFRESH_MS = 250;

  /**
   * Add the panel to the shell's right sidebar. The plugin needs no `ILabShell`: Notebook 7's
   * shell has a right area too; a shell without one (it throws or refuses) leaves the panel out,
   * and the rest of the extension (badges, export, commands) works without it.
   *
   * @returns whether the panel was added.
   */
  export function addToRightArea(shell: JupyterFrontEnd.IShell, panel: HeapPanel): boolean {
    try {
      shell.add(panel, 'right', { rank: 600 });
    } catch (reason) {
      console.warn('heapscope: this application has no right sidebar; the Heap panel is not shown', reason);
      return false;
    }
    return panel.isAttached || !!panel.parent;
  }
}
