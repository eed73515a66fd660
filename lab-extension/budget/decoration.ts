/**
 * What the budget feature adds to a cell's badge: the budget after the figures, red with the
 * reason in words when the last run broke it, the comparison with the ghost in the tooltip, and a
 * menu button (also the badge's context menu) with the budget commands.
 */
import type { Cell } from '@jupyterlab/cells';
import type { Notebook } from '@jupyterlab/notebook';
import { Menu } from '@lumino/widgets';

import type { CellBadge } from '../badges/badge';
import type { ICellRun } from '../comm/protocol';
import type { HeapModel } from '../model/model';
import { budgetShortText, budgetTitleText, cellBudgetState, METADATA_KEY } from './budget';
import { ghostTooltipLine } from './ghost';
import { budgetState, liveRetained } from './state';

/**
 * The budget commands' ids.
 */
export namespace BudgetCommandIDs {
  /**
   * Write a cell's budget from its last run × 1.2 (args: `cellId`).
   */
  export const setFromRun = 'heapscope:set-budget-from-run';
  /**
   * Remove a cell's budget (args: `cellId`).
   */
  export const remove = 'heapscope:remove-budget';
  /**
   * Compare the current notebook with a saved report (args: `path`, else asked).
   */
  export const compareReport = 'heapscope:compare-report';
  /**
   * Compare the current notebook with the previous run of each cell.
   */
  export const comparePrevious = 'heapscope:compare-previous';
  /**
   * Stop comparing the current notebook.
   */
  export const stopComparing = 'heapscope:stop-comparing';
}

/**
 * The CSS class of the budget part of a badge.
 */
export const BUDGET_CLASS = 'jp-heapscope-badge-budget';

/**
 * The CSS class of the badge's menu button.
 */
export const MENU_BUTTON_CLASS = 'jp-heapscope-badge-menuButton';

/**
 * The class of a badge whose last run broke its budget.
 */
export const OVER_BUDGET_CLASS = 'jp-mod-overBudget';

/**
 * Add the budget and the comparison to a cell's badge (called after every draw of the badge).
 *
 * @param badge - the badge.
 * @param cell - its cell.
 * @param run - the cell's last finished run.
 * @param model - the notebook's heap model.
 * @param notebook - the notebook.
 */
export function decorateBadge(
  badge: CellBadge,
  cell: Cell,
  run: ICellRun | undefined,
  model: HeapModel,
  notebook: Notebook
): void {
  Private.watchMetadata(cell, notebook);
  const cellId = cell.model.id;
  const running = model.running?.cell_id === cellId;
  const section = cell.model.getMetadata(METADATA_KEY);
  const state = cellBudgetState(
    section === undefined ? {} : { [METADATA_KEY]: section },
    running ? undefined : run,
    liveRetained(model)
  );
  const over = state.broken.length > 0;
  let text = '';
  const title: string[] = [];
  if (state.error !== null) {
    text = ' · budget unreadable';
    title.push(`Budget: ${state.error}`);
  } else if (state.budget) {
    text = over ? ` · over budget: ${state.reasons.join('; ')}` : ` · ${budgetShortText(state.budget)}`;
    title.push(budgetTitleText(state.budget));
    if (over) {
      title.push(`Over budget: ${state.reasons.join('; ')}.`);
    }
  }
  const compared = budgetState.ghostOf(notebook);
  if (compared && run && !running) {
    const line = ghostTooltipLine(compared.ghost, compared.matches.get(cellId), run);
    title.push(line ?? `No match in the ${compared.ghost.legend}.`);
  }
  const commands = budgetState.commands;
  const key = `${text}\u0000${title.join('\n')}\u0000${commands ? 'menu' : ''}`;
  badge.toggleClass(OVER_BUDGET_CLASS, over);
  if (over) {
    badge.node.dataset.overBudget = state.broken.join(' ');
  } else {
    delete badge.node.dataset.overBudget;
  }
  if (badge.decorationKey('budget') !== key) {
    badge.setDecoration('budget', { key, node: Private.node(text, cellId, commands), title: title.join('\n') });
  }
}

/**
 * Open the budget menu of a cell's badge.
 *
 * @param commands - the application's commands.
 * @param cellId - the cell.
 * @param anchor - the node the menu opens under.
 */
export function openBudgetMenu(
  commands: NonNullable<typeof budgetState.commands>,
  cellId: string,
  anchor: HTMLElement
): Menu {
  const menu = new Menu({ commands });
  menu.addClass('jp-heapscope-BudgetMenu');
  menu.addItem({ command: BudgetCommandIDs.setFromRun, args: { cellId } });
  menu.addItem({ command: BudgetCommandIDs.remove, args: { cellId } });
  menu.addItem({ type: 'separator' });
  menu.addItem({ command: BudgetCommandIDs.compareReport });
  menu.addItem({ command: BudgetCommandIDs.comparePrevious });
  menu.addItem({ command: BudgetCommandIDs.stopComparing });
  menu.aboutToClose.connect(() => {
    // Back to the button the menu was opened from (keyboard users), once the menu is gone.
    requestAnimationFrame(() => {
      if (anchor.isConnected && !anchor.contains(document.activeElement)) {
        anchor.focus();
      }
      menu.dispose();
    });
  });
  const box = anchor.getBoundingClientRect();
  menu.open(box.left, box.bottom);
  menu.activeIndex = 0;
  return menu;
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * Cells whose metadata is watched (a budget written by hand redraws the badge).
   */
  const watched = new WeakSet<object>();

  export function watchMetadata(cell: Cell, notebook: Notebook): void {
    const model = cell.model;
    if (watched.has(model)) {
      return;
    }
    watched.add(model);
    model.metadataChanged.connect((_, args) => {
      if (args.key === METADATA_KEY) {
        budgetState.refresh(notebook, model.id);
      }
    });
  }

  /**
   * The budget text and the menu button.
   */
  export function node(text: string, cellId: string, commands: typeof budgetState.commands): HTMLElement | null {
    if (!text && !commands) {
      return null;
    }
    const node = document.createElement('span');
    node.className = BUDGET_CLASS;
    if (text) {
      const words = document.createElement('span');
      words.className = `${BUDGET_CLASS}-text`;
      words.textContent = text;
      node.appendChild(words);
    }
    if (commands) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = MENU_BUTTON_CLASS;
      // The glyph is CSS content (style/budget.css): the badge's text stays its figures (and budget).
      button.title = 'Budget and comparison';
      button.setAttribute('aria-label', 'Memory budget and comparison menu');
      button.setAttribute('aria-haspopup', 'menu');
      const open = (event: Event) => {
        event.preventDefault();
        event.stopPropagation();
        openBudgetMenu(commands, cellId, button);
      };
      button.addEventListener('click', open);
      button.addEventListener('keydown', event => {
        if (event.key === 'Enter' || event.key === ' ' || event.key === 'ArrowDown') {
          open(event);
        }
      });
      node.appendChild(button);
    }
    return node;
  }
}
