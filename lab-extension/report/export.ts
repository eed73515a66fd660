/**
 * Export a notebook's memory report: the JSON report and the self-contained HTML page, saved
 * next to the notebook through the contents API.
 */
import type { Contents } from '@jupyterlab/services';

import { notebookBudgets } from '../budget/reportBudgets';
import type { ICellRun } from '../comm/protocol';
import { scanHolders } from '../holders/scan';
import type { HeapModel } from '../model/model';
import { freshRetained } from '../tracker/retained';
import type { IHeapSession } from '../tracker/tokens';
import { renderReportHtml } from './html';
import { buildReport, IReport, reportPaths } from './report';

/**
 * What {@link exportReport} wrote.
 */
export interface IExportResult {
  /**
   * The HTML page's path.
   */
  readonly html: string;
  /**
   * The JSON report's path.
   */
  readonly json: string;
  /**
   * The report.
   */
  readonly report: IReport;
}

/**
 * Options of {@link exportReport} and {@link fetchCellDetails}.
 */
export interface IExportOptions {
  /**
   * Sites per list asked from the kernel for each cell (`cell_detail`'s `limit`, default 200).
   */
  readonly limit?: number;
  /**
   * Told how many cells' details have arrived, out of how many asked for.
   */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * How long to wait for one `cell_detail` answer, in milliseconds (default 10 s).
   */
  readonly timeout?: number;
  /**
   * How many `cell_detail` requests may be in flight at once (default 4).
   */
  readonly concurrency?: number;
}

/**
 * Ask the kernel for the full record (`cell_detail`: longer site lists, with stacks) of every
 * finished execution the model holds, so that a report has every cell's lines even when the
 * user never opened that cell's drill-down.
 *
 * A cell whose answer is already in the model is not asked again, nor one whose record has no
 * site lists (the kernel has none to give). A cell the kernel answers with null keeps the record
 * of the `cell`/`history` messages. Once one request times out (a kernel busy in a cell, without
 * subshells, answers only when that cell ends) no more are sent: the export goes on with what it
 * has. Without a connected kernel nothing is asked.
 *
 * @param session - the notebook's heap session.
 * @param options - the limit, progress callback, timeout and concurrency.
 * @returns the answers by `seq` (only cells the kernel still had).
 */
export async function fetchCellDetails(
  session: IHeapSession,
  options: IExportOptions = {}
): Promise<Map<number, ICellRun>> {
  const model = session.model;
  const found = new Map<number, ICellRun>();
  const wanted = new Set<number>();
  for (const cell of model.cells) {
    if (cell.seq === undefined) {
      continue;
    }
    if (model.hasDetail(cell.seq)) {
      const known = model.detail(cell.seq);
      if (known) {
        found.set(cell.seq, known);
      }
    } else if (cell.top_at_peak !== undefined || cell.retained !== undefined) {
      // A record without lists (no attribution, a nested cell, or older than the kernel keeps
      // lists for) has no longer ones to fetch either.
      wanted.add(cell.seq);
    }
  }
  if (wanted.size === 0 || model.status?.attribution === false) {
    return found;
  }
  const queue = [...wanted];
  const total = queue.length;
  let done = 0;
  options.onProgress?.(0, total);
  const waiters = new Map<number, () => void>();
  const onChanged = (_: HeapModel, args: HeapModel.IChangedArgs) => {
    if (args.kind === 'detail' && args.seq !== undefined && waiters.has(args.seq)) {
      const run = model.detail(args.seq);
      if (run && model.hasDetail(args.seq)) {
        found.set(args.seq, run);
      }
      waiters.get(args.seq)!();
    }
  };
  model.changed.connect(onChanged);
  let stalled = false;
  const ask = (seq: number) =>
    new Promise<void>(resolve => {
      const timer = setTimeout(() => {
        stalled = true;
        finish();
      }, options.timeout ?? 10000);
      function finish() {
        clearTimeout(timer);
        waiters.delete(seq);
        done += 1;
        options.onProgress?.(done, total);
        resolve();
      }
      waiters.set(seq, finish);
      if (!session.requestDetail(seq, options.limit ?? 200)) {
        finish();
      }
    });
  try {
    let next = 0;
    const worker = async () => {
      while (next < queue.length && !stalled) {
        await ask(queue[next++]);
      }
    };
    const lanes = Math.max(1, Math.min(options.concurrency ?? 4, queue.length));
    await Promise.all(Array.from({ length: lanes }, worker));
    if (done < total) {
      options.onProgress?.(total, total);
    }
  } finally {
    model.changed.disconnect(onChanged);
  }
  return found;
}

/**
 * Build a session's report, render its page and save both next to the notebook. Every cell's
 * full record is fetched from the kernel first ({@link fetchCellDetails}).
 *
 * @param session - the notebook's heap session.
 * @param contents - the contents manager.
 * @param template - the page template (report/assets.ts).
 * @param version - the heapscope version to record.
 * @param options - the detail limit and a progress callback.
 * @returns the paths written.
 */
export async function exportReport(
  session: IHeapSession,
  contents: Contents.IManager,
  template: string,
  version: string,
  options: IExportOptions = {}
): Promise<IExportResult> {
  const details = await fetchCellDetails(session, options);
  // Ask for the heap alive now; export what is known if the kernel does not answer in time.
  await freshRetained(session);
  // Who holds it, after the last cell (as `heapscope report`); left out when the kernel cannot say.
  const holders = await scanHolders(session);
  const model = session.model;
  const notebook = session.notebookPanel;
  const report = buildReport({
    path: notebook.context.path,
    kernelName: session.sessionContext.session?.kernel?.name ?? null,
    status: model.status,
    cells: model.cells,
    retainedByCell: model.retainedByCell,
    holders,
    cellIds: notebook.content.widgets.map(cell => cell.model.id),
    budgets: notebookBudgets(
      notebook.content.widgets.map(cell =>
        cell.model.type === 'code' ? cell.model.getMetadata('heapscope') : undefined
      )
    ),
    detail: seq => details.get(seq) ?? (model.hasDetail(seq) ? model.detail(seq) : undefined),
    version,
    now: Date.now() / 1000
  });
  const paths = reportPaths(notebook.context.path);
  const html = renderReportHtml(template, report);
  await contents.save(paths.json, {
    type: 'file',
    format: 'text',
    content: JSON.stringify(report, null, 1) + '\n'
  });
  await contents.save(paths.html, { type: 'file', format: 'text', content: html });
  return { ...paths, report };
}
