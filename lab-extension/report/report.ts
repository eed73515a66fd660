/**
 * The JSON report of a notebook's heap (protocol/report.schema.json), built from the browser's heap
 * model. Pure: no DOM, no kernel.
 */
import type { Budget, BudgetName } from '../budget/budget';
import { withBudgets } from '../budget/reportBudgets';
import type { ICellRun, IHolders, IProfilerStatus, IRetained } from '../comm/protocol';

/**
 * A cell of the report: a CellRecord and its place in the notebook.
 */
export interface IReportCell extends ICellRun {
  /**
   * The cell's 0-based position among the notebook's cells; null when it is no notebook cell.
   */
  readonly index?: number | null;
  /**
   * The budget in force for this notebook cell (docs/ci.md), when it has one.
   */
  readonly budget?: Budget;
  /**
   * The budgets this run broke (present with `budget`).
   */
  readonly over_budget?: BudgetName[];
}

/**
 * The report (protocol/report.schema.json, version 2).
 */
export interface IReport {
  readonly heapscope_report: 2;
  readonly generator: { readonly name: 'heapscope'; readonly version: string };
  readonly created_at?: number;
  readonly target: { readonly kind: 'notebook' | 'script'; readonly path: string | null };
  readonly kernel: { readonly name: string | null; readonly status: IProfilerStatus | null };
  readonly outcome: {
    readonly status: 'ok' | 'error' | 'unprofiled';
    readonly message: string | null;
    readonly failed_cell: { readonly index: number; readonly cell_id: string | null } | null;
  };
  readonly cells: ReadonlyArray<IReportCell>;
  readonly retained_by_cell?: ReadonlyArray<IRetained> | null;
  readonly memory_limit?: IProfilerStatus['memory_limit'];
  readonly holders?: IHolders | null;
}

/**
 * What a report is built from.
 */
export interface IReportSource {
  /**
   * The notebook's path (relative to the server root).
   */
  readonly path: string | null;
  /**
   * The kernelspec name.
   */
  readonly kernelName: string | null;
  /**
   * The profiler's last status.
   */
  readonly status: IProfilerStatus | null;
  /**
   * The finished executions, in execution order.
   */
  readonly cells: ReadonlyArray<ICellRun>;
  /**
   * The heap alive now by allocating cell.
   */
  readonly retainedByCell: ReadonlyArray<IRetained> | null;
  /**
   * Who holds the heap (the kernel's `holders` answer); null when the scan could not run, absent
   * when it was not asked.
   */
  readonly holders?: IHolders | null;
  /**
   * The notebook cells' budgets by position (budget/report.ts `notebookBudgets`); none when absent.
   */
  readonly budgets?: ReadonlyMap<number, Budget>;
  /**
   * The notebook's cell ids in order (gives each record its `index`).
   */
  readonly cellIds: ReadonlyArray<string>;
  /**
   * The longer record of an execution, when the kernel sent one (`cell_detail`).
   */
  readonly detail?: (seq: number) => ICellRun | null | undefined;
  /**
   * The heapscope version writing the report.
   */
  readonly version: string;
  /**
   * The time the report is written, in seconds since the Unix epoch.
   */
  readonly now: number;
}

/**
 * Build the report of a notebook.
 *
 * @param source - the model's state and the notebook's cells.
 * @returns a report that validates against protocol/report.schema.json.
 */
export function buildReport(source: IReportSource): IReport {
  const position = new Map<string, number>();
  source.cellIds.forEach((id, i) => position.set(id, i));
  const runs: IReportCell[] = source.cells.map(run => {
    const longer = run.seq !== undefined ? source.detail?.(run.seq) : undefined;
    const cell = longer ?? run;
    const index = cell.cell_id === null ? null : (position.get(cell.cell_id) ?? null);
    return { ...cell, index };
  });
  // Each budgeted cell's budget and over_budget, as `heapscope report` writes them.
  const cells = source.budgets ? withBudgets(runs, source.budgets, source.retainedByCell) : runs;
  const status = source.status;
  let outcome: IReport['outcome'] = { status: 'ok', message: null, failed_cell: null };
  if (status && !status.active) {
    outcome = { status: 'unprofiled', message: status.reason, failed_cell: null };
  } else {
    const failed = cells.filter(cell => cell.status !== 'ok');
    if (failed.length > 0) {
      const first = failed[0];
      outcome = {
        status: 'error',
        message:
          failed.length === 1
            ? `1 cell run did not finish normally ([${first.execution_count ?? '?'}] ${first.status}).`
            : `${failed.length} cell runs did not finish normally (the first: [${first.execution_count ?? '?'}] ${first.status}).`,
        failed_cell:
          first.index !== null && first.index !== undefined ? { index: first.index, cell_id: first.cell_id } : null
      };
    }
  }
  return {
    heapscope_report: 2,
    generator: { name: 'heapscope', version: source.version },
    created_at: source.now,
    target: { kind: 'notebook', path: source.path },
    kernel: { name: source.kernelName, status },
    outcome,
    cells,
    retained_by_cell: source.retainedByCell,
    ...(status?.memory_limit !== undefined ? { memory_limit: status.memory_limit } : {}),
    ...(source.holders !== undefined ? { holders: source.holders } : {})
  };
}

/**
 * The file names of a notebook's report, next to it: `dir/name.heap.html` and `.heap.json`.
 *
 * @param notebookPath - the notebook's path, e.g. `work/analysis.ipynb`.
 */
export function reportPaths(notebookPath: string): { html: string; json: string } {
  const base = notebookPath.replace(/\.ipynb$/i, '');
  return { html: `${base}.heap.html`, json: `${base}.heap.json` };
}
