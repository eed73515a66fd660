/**
 * What the Heap panel says about the current notebook. Pure: session state in, text out.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { IProfilerStatus } from '../comm/protocol';
import { formatBytes } from '../format/bytes';
import { displayText } from '../format/text';
import { heapNowAfterLastRun } from '../holders/now';
import { heapscopeKernelSpec } from '../remote/kernelspecs';
import type { IHeapSession } from '../tracker/tokens';

/**
 * The panel's status line and whether it shows the chart.
 */
export interface IPanelStatus {
  /**
   * The status text (plain text; kernel strings included as they are).
   */
  readonly text: string;
  /**
   * `warning` when the user has to act to get heap data.
   */
  readonly level: 'info' | 'warning';
  /**
   * Whether there is data to chart.
   */
  readonly showChart: boolean;
  /**
   * What the kernel warns about, one line each (plain text, made safe with `displayText`):
   * degraded bookkeeping, the agent's latest warnings (e.g. a setting it rejected).
   */
  readonly notes: ReadonlyArray<string>;
}

/**
 * How many of the agent's warnings the panel lists (the latest ones).
 */
export const MAX_NOTES = 3;

/**
 * Describe a notebook's heap session for the panel.
 *
 * @param session - the current notebook's session, or null without a notebook.
 * @param trans - the translation bundle.
 */
export function panelStatus(session: IHeapSession | null, trans: TranslationBundle): IPanelStatus {
  const notes = statusNotes(session?.state === 'connected' ? session.model.status : null, trans);
  const info = (text: string, showChart = false): IPanelStatus => ({
    text,
    level: notes.length > 0 ? 'warning' : 'info',
    showChart,
    notes
  });
  const warning = (text: string, showChart = false): IPanelStatus => ({ text, level: 'warning', showChart, notes });
  if (!session) {
    return info(trans.__('Open a notebook to see its heap.'));
  }
  const model = session.model;
  const hasData = model.cells.length > 0 || model.running !== null;
  switch (session.state) {
    case 'no-kernel':
      return info(trans.__('This notebook has no running kernel.'));
    case 'connecting':
      return info(trans.__('Connecting to the kernel…'));
    case 'reconnecting':
      return info(trans.__('Reconnecting to the kernel…'), hasData);
    case 'not-heapscope':
      return warning(
        trans.__(
          'The kernel “%1” does not run the heapscope agent, so there is no heap data. Choose the kernel “%2” to profile this notebook.',
          session.sessionContext.kernelDisplayName,
          // The server's heapscope kernelspec, told by its metadata (a gateway names it its own way).
          heapscopeKernelSpec(session.sessionContext.specsManager?.specs)?.displayName ?? 'Python 3 (heapscope)'
        )
      );
    case 'closed':
      return warning(trans.__('The kernel closed the heapscope connection. Restart the kernel to reconnect.'), hasData);
    case 'connected':
      break;
  }
  const status = model.status;
  if (status && !status.active) {
    return warning(trans.__('Profiling is off: %1', displayText(status.reason ?? '', 1000)), hasData);
  }
  if (!hasData) {
    return info(trans.__('Run a cell to see its heap.'));
  }
  const last = model.cells[model.cells.length - 1];
  const tick = model.ticks[model.ticks.length - 1];
  // Between cells, the kernel's latest status when the heap moved since the last run (a release).
  const idle =
    heapNowAfterLastRun({ cells: model.cells, running: model.running, status: model.status }) ?? last.end_bytes;
  const heapNow = formatBytes(model.running ? (tick ? tick[1] : model.running.start_bytes) : idle);
  if (model.running) {
    return info(
      trans.__('Cell [%1] is running · heap %2', String(model.running.execution_count ?? '?'), heapNow),
      true
    );
  }
  return info(trans._n('%1 cell run · heap now %2', '%1 cell runs · heap now %2', model.cells.length, heapNow), true);
}

/**
 * The lines the panel adds under its status: degraded bookkeeping and the agent's latest
 * warnings, newest last.
 *
 * @param status - the kernel's last status, or null.
 * @param trans - the translation bundle.
 */
export function statusNotes(status: IProfilerStatus | null, trans: TranslationBundle): string[] {
  if (!status) {
    return [];
  }
  const notes: string[] = [];
  if (status.degraded) {
    notes.push(trans.__('The profiler ran out of bookkeeping memory: figures may be low.'));
  }
  const texts = status.warnings ?? [];
  if (texts.length > MAX_NOTES) {
    notes.push(trans._n('%1 earlier kernel warning', '%1 earlier kernel warnings', texts.length - MAX_NOTES));
  }
  for (const text of texts.slice(-MAX_NOTES)) {
    notes.push(trans.__('Kernel: %1', displayText(text, 300)));
  }
  return notes;
}
