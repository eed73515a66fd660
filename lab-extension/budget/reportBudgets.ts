/**
 * Budgets in the report: the exported report carries each budgeted cell's `budget` and
 * `over_budget` (as `heapscope report` writes them, budgets.py `apply_budgets`), and the report page
 * shows them.
 */
import { formatBytes, formatSignedBytes } from '../format/bytes';
import { element } from '../sites/elements';
import {
  Budget,
  budgetFigure,
  BudgetName,
  budgetFromMetadata,
  hasLimits,
  IRetainedEntry,
  IRunFigures,
  overBudget,
  resolveBudget,
  violationLine
} from './budget';

/**
 * A report cell as budgets read and write it.
 */
export interface IBudgetedCell extends IRunFigures {
  readonly index?: number | null;
  readonly source?: string;
  readonly budget?: Budget;
  readonly over_budget?: ReadonlyArray<BudgetName>;
}

/**
 * The budget of every notebook cell that has one, by 0-based position. A cell whose metadata cannot
 * be read has none here (the export goes on; the badge says what is wrong).
 *
 * @param metadata - each notebook cell's `heapscope` metadata (undefined for none, or for a cell
 *   that is no code cell).
 */
export function notebookBudgets(metadata: ReadonlyArray<unknown>): Map<number, Budget> {
  const out = new Map<number, Budget>();
  metadata.forEach((section, index) => {
    if (section === undefined) {
      return;
    }
    try {
      const budget = resolveBudget(budgetFromMetadata({ heapscope: section }));
      if (hasLimits(budget)) {
        out.set(index, budget);
      }
    } catch {
      // Unreadable: no budget.
    }
  });
  return out;
}

/**
 * The cells with `budget` and `over_budget` written into those whose `index` has a budget: a cell's
 * last run only (the budget is the cell's now; `heapscope report` runs each cell once, an export
 * from JupyterLab may hold earlier runs of a cell, which keep no budget fields, as `heapscope diff`
 * counts a cell with its last run).
 *
 * @param cells - the report's cells.
 * @param budgets - {@link notebookBudgets}.
 * @param retainedByCell - the report's `retained_by_cell`.
 */
export function withBudgets<T extends IBudgetedCell>(
  cells: ReadonlyArray<T>,
  budgets: ReadonlyMap<number, Budget>,
  retainedByCell: ReadonlyArray<IRetainedEntry> | null
): T[] {
  const last = new Map<number, T>();
  for (const cell of cells) {
    if (cell.index !== null && cell.index !== undefined) {
      last.set(cell.index, cell);
    }
  }
  return cells.map(cell => {
    const budget = cell.index === null || cell.index === undefined ? undefined : budgets.get(cell.index);
    if (!budget || last.get(cell.index!) !== cell) {
      return cell;
    }
    return { ...cell, budget: { ...budget }, over_budget: overBudget(cell, budget, retainedByCell) };
  });
}

/**
 * Every broken budget of a report, as `heapscope report` prints them.
 *
 * @param cells - the report's cells.
 * @param retainedByCell - the report's `retained_by_cell`.
 */
export function overBudgetLines(
  cells: ReadonlyArray<IBudgetedCell>,
  retainedByCell: ReadonlyArray<IRetainedEntry> | null
): string[] {
  const lines: string[] = [];
  for (const cell of cells) {
    const budget = cell.budget;
    for (const name of cell.over_budget ?? []) {
      const limit = budget?.[name];
      if (limit === null || limit === undefined) {
        continue;
      }
      lines.push(
        violationLine(cell.index ?? null, cell.source ?? '', name, budgetFigure(name, cell, retainedByCell), limit)
      );
    }
  }
  return lines;
}

/**
 * The budget column of the report's cell table: `peak ≤ +2 GB, retained ≤ 500 MB`, `over: peak`.
 *
 * @param cell - a report cell.
 */
export function budgetCell(cell: IBudgetedCell): HTMLTableCellElement {
  const over = (cell.over_budget ?? []).length > 0;
  return element('td', over ? 'hs-budget hs-mod-overBudget' : 'hs-budget', budgetCellText(cell));
}

/**
 * The text of {@link budgetCell}.
 */
export function budgetCellText(cell: IBudgetedCell): string {
  const budget = cell.budget;
  if (!budget) {
    return '';
  }
  const parts: string[] = [];
  if (budget.max_peak !== null && budget.max_peak !== undefined) {
    parts.push(`peak ≤ ${formatSignedBytes(budget.max_peak)}`);
  }
  if (budget.max_retained !== null && budget.max_retained !== undefined) {
    parts.push(`retained ≤ ${formatBytes(budget.max_retained)}`);
  }
  const over = cell.over_budget ?? [];
  const broken = over.map(name => (name === 'max_peak' ? 'peak' : 'retained'));
  return parts.join(', ') + (broken.length ? ` · over: ${broken.join(', ')}` : '');
}
