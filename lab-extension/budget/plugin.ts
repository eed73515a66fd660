/**
 * The `heapscope:budget` plugin: per-cell memory budgets in the badges (docs/ci.md) and the
 * comparison of a notebook with a saved report or with its previous runs (a ghost trace on the
 * chart, the per-cell Δ in the badges' tooltips).
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, Notification, showErrorMessage } from '@jupyterlab/apputils';
import type { Cell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { checkReport } from '../comm/protocol';
import { freshRetained } from '../tracker/retained';
import { IHeapSession, IHeapTracker } from '../tracker/tokens';
import { Throttle } from '../util/throttle';
import { budgetFromMetadata, budgetFromRun, hasLimits, METADATA_KEY, withoutBudget } from './budget';
import { BudgetCommandIDs } from './decoration';
import { ghostFromPreviousRuns, ghostFromReport } from './ghost';
import type { IReportRun } from './match';
import { budgetState, liveRetained } from './state';

export { BudgetCommandIDs } from './decoration';

/**
 * The budget plugin.
 */
export const budgetPlugin: JupyterFrontEndPlugin<void> = {
  id: 'heapscope:budget',
  description: 'Per-cell memory budgets in the badges, and the comparison with a saved report or the previous runs.',
  autoStart: true,
  requires: [IHeapTracker, INotebookTracker],
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: IHeapTracker,
    notebooks: INotebookTracker,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('heapscope');
    const { commands } = app;
    budgetState.commands = commands;

    /** The cell (and its notebook) of a command: its `cellId`, else the badge right-clicked. */
    const target = (args: { [key: string]: unknown }): { panel: NotebookPanel; cell: Cell } | null => {
      let cellId = typeof args.cellId === 'string' ? args.cellId : null;
      if (cellId === null) {
        const node = app.contextMenuHitTest(n => n.classList.contains('jp-heapscope-badge'));
        cellId = node?.dataset.cellId ?? null;
      }
      if (cellId === null) {
        return null;
      }
      const panel = notebooks.find(p => p.content.widgets.some(c => c.model.id === cellId));
      const cell = panel?.content.widgets.find(c => c.model.id === cellId);
      return panel && cell ? { panel, cell } : null;
    };
    const hasBudget = (cell: Cell): boolean => {
      try {
        const section = cell.model.getMetadata(METADATA_KEY);
        return hasLimits(budgetFromMetadata(section === undefined ? {} : { [METADATA_KEY]: section }));
      } catch {
        // Unreadable: "Remove budget" is the way out.
        return true;
      }
    };

    commands.addCommand(BudgetCommandIDs.setFromRun, {
      label: trans.__('Set Budget from This Run × 1.2'),
      caption: trans.__(
        'Write the cell’s memory budget (metadata “heapscope”: max_peak, max_retained) at 1.2 times its last run’s figures'
      ),
      isEnabled: args => {
        const found = target(args);
        return !!found && !!tracker.sessionFor(found.panel).model.lastRun(found.cell.model.id);
      },
      execute: async args => {
        const found = target(args);
        if (!found) {
          return;
        }
        const session = tracker.sessionFor(found.panel);
        const run = session.model.lastRun(found.cell.model.id);
        if (!run) {
          return;
        }
        // The retained figure as the kernel sees it now.
        await freshRetained(session);
        const section = budgetFromRun(found.cell.model.getMetadata(METADATA_KEY), run, liveRetained(session.model));
        found.cell.model.setMetadata(METADATA_KEY, section);
        budgetState.refresh(found.panel.content, found.cell.model.id);
      }
    });
    commands.addCommand(BudgetCommandIDs.remove, {
      label: trans.__('Remove Budget'),
      caption: trans.__('Remove the cell’s memory budget (max_peak, max_retained) from its metadata'),
      isEnabled: args => {
        const found = target(args);
        return !!found && hasBudget(found.cell);
      },
      execute: args => {
        const found = target(args);
        if (!found) {
          return;
        }
        const rest = withoutBudget(found.cell.model.getMetadata(METADATA_KEY));
        if (rest === undefined) {
          found.cell.model.deleteMetadata(METADATA_KEY);
        } else {
          found.cell.model.setMetadata(METADATA_KEY, rest);
        }
        budgetState.refresh(found.panel.content, found.cell.model.id);
      }
    });

    const current = (): IHeapSession | null => tracker.current;
    commands.addCommand(BudgetCommandIDs.compareReport, {
      label: trans.__('Compare with a Saved Report…'),
      caption: trans.__('Draw a saved heapscope report (JSON) as a ghost on the heap chart, Δ per cell in the badges'),
      isEnabled: () => !!current(),
      execute: async args => {
        const session = current();
        if (!session) {
          return;
        }
        let path = typeof args.path === 'string' ? args.path : null;
        if (path === null && app.contextMenuHitTest(n => n.classList.contains('jp-DirListing-item'))) {
          // From the file browser's context menu: the file right-clicked (it is selected).
          path = Private.selectedFile(app);
        }
        if (path === null) {
          const answer = await InputDialog.getText({
            title: trans.__('Compare with a saved report'),
            label: trans.__('A heapscope report (JSON), its path on the server:'),
            // Where the export writes it (report/report.ts reportPaths).
            text: session.notebookPanel.context.path.replace(/\.ipynb$/i, '') + '.heap.json',
            okLabel: trans.__('Compare')
          });
          if (!answer.button.accept || !answer.value) {
            return;
          }
          path = answer.value.trim();
        }
        try {
          const model = await app.serviceManager.contents.get(path, { content: true, format: 'text' });
          const data = JSON.parse(String(model.content));
          const problem = checkReport(data);
          if (problem !== null) {
            throw new Error(trans.__('not a heapscope report: %1', problem));
          }
          const ghost = ghostFromReport(data as { cells: IReportRun[]; target: { kind: string } }, path);
          budgetState.setGhost(session.notebookPanel.content, session.model, ghost);
          const matched = budgetState.ghostOf(session.notebookPanel.content)?.matches.size ?? 0;
          Notification.info(
            trans.__('Comparing with %1: %2 of its %3 cells matched.', path, matched, ghost.cells.length),
            { autoClose: 5000 }
          );
        } catch (error) {
          await showErrorMessage(trans.__('The report could not be compared'), `${path}: ${String(error)}`);
        }
      }
    });
    commands.addCommand(BudgetCommandIDs.comparePrevious, {
      label: trans.__('Compare with the Previous Run'),
      caption: trans.__('Draw each cell’s run before its last one as a ghost on the heap chart, Δ in the badges'),
      isEnabled: () => !!current(),
      execute: () => {
        const session = current();
        if (!session) {
          return;
        }
        const ids = session.notebookPanel.content.widgets.map(c => c.model.id);
        if (!ghostFromPreviousRuns(ids, id => session.model.runs(id))) {
          Notification.info(trans.__('No cell has run twice yet: the comparison starts when one does.'), {
            autoClose: 5000
          });
        }
        budgetState.setGhost(session.notebookPanel.content, session.model, 'previous');
      }
    });
    commands.addCommand(BudgetCommandIDs.stopComparing, {
      label: trans.__('Stop Comparing'),
      caption: trans.__('Remove the ghost trace and the Δ lines'),
      isEnabled: () => {
        const session = current();
        return !!session && budgetState.ghostSource(session.notebookPanel.content) !== null;
      },
      execute: () => {
        const session = current();
        if (session) {
          budgetState.setGhost(session.notebookPanel.content, session.model, null);
        }
      }
    });

    // The badge's context menu (right click, or the context-menu key on a focused badge).
    const selector = '.jp-heapscope-badge';
    app.contextMenu.addItem({ type: 'separator', selector, rank: 0 });
    app.contextMenu.addItem({ command: BudgetCommandIDs.setFromRun, selector, rank: 0 });
    app.contextMenu.addItem({ command: BudgetCommandIDs.remove, selector, rank: 0 });
    app.contextMenu.addItem({ command: BudgetCommandIDs.compareReport, selector, rank: 0 });
    app.contextMenu.addItem({ command: BudgetCommandIDs.comparePrevious, selector, rank: 0 });
    app.contextMenu.addItem({ command: BudgetCommandIDs.stopComparing, selector, rank: 0 });
    app.contextMenu.addItem({ type: 'separator', selector, rank: 0 });
    // A JSON file in the file browser: compare the current notebook with it.
    app.contextMenu.addItem({
      command: BudgetCommandIDs.compareReport,
      selector: '.jp-DirListing-item[data-file-type="json"]',
      rank: 10
    });

    if (palette) {
      const category = trans.__('Heap Profiler');
      for (const command of [
        BudgetCommandIDs.compareReport,
        BudgetCommandIDs.comparePrevious,
        BudgetCommandIDs.stopComparing
      ]) {
        palette.addItem({ command, category });
      }
    }

    // A max_retained budget is judged on the heap the cell holds now: ask the kernel for it after
    // every run of a notebook that has one; the badges follow the answer.
    // At most twice a second: in a Run All every run asked, and each ask read every cell's metadata.
    const watch = (panel: NotebookPanel) => {
      const session = tracker.sessionFor(panel);
      const ask = new Throttle(
        () => {
          if (!panel.isDisposed && session.model.status?.attribution !== false && Private.hasRetainedBudget(panel)) {
            session.requestRetained();
          }
        },
        { interval: Private.RETAINED_REQUEST_MS }
      );
      const onChanged = (_: unknown, args: { kind: string }) => {
        if (args.kind === 'retained') {
          budgetState.refresh(panel.content);
        } else if (args.kind === 'cell' || args.kind === 'history') {
          ask.request();
        }
      };
      session.model.changed.connect(onChanged);
      panel.disposed.connect(() => {
        ask.dispose();
        session.model.changed.disconnect(onChanged);
        budgetState.forget(panel.content);
      });
    };
    notebooks.widgetAdded.connect((_, panel) => watch(panel));
    notebooks.forEach(watch);
  }
};

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * The least time between two requests for the retained heap of a notebook's cells (for its
   * max_retained budgets) while its runs end.
   */
  export const RETAINED_REQUEST_MS = 500;

  /**
   * The file selected in the file browser (the left area's widget that lists selected items), or
   * null: the file browser is found by what it does, not imported.
   */
  export function selectedFile(app: JupyterFrontEnd): string | null {
    for (const widget of app.shell.widgets('left')) {
      const browser = widget as unknown as { selectedItems?: () => IterableIterator<{ path: string; type: string }> };
      if (typeof browser.selectedItems === 'function') {
        for (const item of browser.selectedItems()) {
          return item.type === 'directory' ? null : item.path;
        }
      }
    }
    return null;
  }

  /**
   * Whether a cell of the notebook has a max_retained budget.
   */
  export function hasRetainedBudget(panel: NotebookPanel): boolean {
    return panel.content.widgets.some(cell => {
      const section = cell.model.getMetadata(METADATA_KEY) as { [key: string]: unknown } | undefined;
      return (
        !!section && typeof section === 'object' && section.max_retained !== undefined && section.max_retained !== null
      );
    });
  }
}
