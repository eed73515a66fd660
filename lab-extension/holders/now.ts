/**
 * The heap now, after the last run, when it differs from how that run ended: the kernel's status
 * (`current_bytes`) after something changed the heap between cells — a release from the Holders view
 * (which asks for a fresh status), a garbage collection. The chart draws it as a "now" marker next
 * to the last run. Pure: no DOM.
 */
import type { ICellRun, ICellStart, IProfilerStatus } from '../comm/protocol';
import { formatBytes, formatSignedBytes } from '../format/bytes';

/**
 * The least change from the last run's end worth a marker: 1 MB or 1 % of the heap, whichever is
 * larger (the agent's own work between cells moves the heap by less).
 */
export const NOW_MIN_CHANGE = 1_000_000;

/**
 * The heap now, when it is worth drawing next to the last run.
 *
 * @param state - the finished runs, the running cell and the kernel's last status.
 * @returns the heap now in bytes, or null (a cell runs, no run yet, no status, or no real change).
 */
export function heapNowAfterLastRun(state: {
  readonly cells: ReadonlyArray<ICellRun>;
  readonly running: ICellStart | null;
  readonly status: IProfilerStatus | null;
}): number | null {
  const last = state.cells[state.cells.length - 1];
  const status = state.status;
  if (state.running || !last || !status || !status.active) {
    return null;
  }
  const now = status.current_bytes;
  return Math.abs(now - last.end_bytes) >= Math.max(NOW_MIN_CHANGE, last.end_bytes / 100) ? now : null;
}

/**
 * The hover text of the "now" marker.
 *
 * @param now - the heap now.
 * @param end - how the last run ended.
 */
export function heapNowHover(now: number, end: number): string {
  return `heap now ${formatBytes(now)}<br>${formatSignedBytes(now - end)} since the last cell ended (${formatBytes(end)})`;
}
