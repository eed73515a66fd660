/**
 * Export a notebook's memory report: the JSON report and the self-contained HTML page, saved
 * next to the notebook through the contents API.
 */
import type { Contents } from '@jupyterlab/services';

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
 * Build a session's report, render its page and save both next to the notebook.
 *
 * @param session - the notebook's heap session.
 * @param contents - the contents manager.
 * @param template - the page template (report/assets.ts).
 * @param version - the heapscope version to record.
 * @returns the paths written.
 */
export async function exportReport(
  session: IHeapSession,
  contents: Contents.IManager,
  template: string,
  version: string
): Promise<IExportResult> {
  // Ask for the heap alive now; export what is known if the kernel does not answer in time.
  await Private.freshRetained(session);
  const model = session.model;
  const notebook = session.notebookPanel;
  const report = buildReport({
    path: notebook.context.path,
    kernelName: session.sessionContext.session?.kernel?.name ?? null,
    status: model.status,
    cells: model.cells,
    retainedByCell: model.retainedByCell,
    cellIds: notebook.content.widgets.map(cell => cell.model.id),
    detail: seq => (model.hasDetail(seq) ? model.detail(seq) : undefined),
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

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * How long to wait for the kernel's `retained_by_cell` answer, in milliseconds.
   */
  const RETAINED_TIMEOUT = 3000;

  /**
   * Ask the kernel for the retained-by-cell split and wait for the answer (or a timeout).
   */
  export function freshRetained(session: IHeapSession): Promise<void> {
    return new Promise(resolve => {
      const model = session.model;
      let timer: ReturnType<typeof setTimeout> | null = null;
      const done = () => {
        model.changed.disconnect(onChange);
        if (timer !== null) {
          clearTimeout(timer);
        }
        resolve();
      };
      const onChange = (_: unknown, args: { kind: string }) => {
        if (args.kind === 'retained') {
          done();
        }
      };
      model.changed.connect(onChange);
      if (model.status?.attribution === false || !session.requestRetained()) {
        done();
        return;
      }
      timer = setTimeout(done, RETAINED_TIMEOUT);
    });
  }
}
