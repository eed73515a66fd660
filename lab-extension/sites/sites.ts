/**
 * How a site (where memory was allocated) is presented, in the panel and in the exported report.
 * Pure: no DOM.
 */
import type { ICellRun, IFrame, ISite } from '../comm/protocol';
import { formatBytes } from '../format/bytes';
import { displayText, shortenPath } from '../format/text';

/**
 * Finds the source of a cell run: by cell id and execution count, or the cell's latest source.
 */
export type SourceLookup = (cellId: string, executionCount: number | null | undefined) => string | undefined;

/**
 * One row of a site table, every field plain text.
 */
export interface ISiteRow {
  /**
   * The bytes held, formatted.
   */
  readonly bytes: string;
  /**
   * Share of the cell's peak, e.g. `62 %` (empty when there is no peak to compare with).
   */
  readonly percent: string;
  /**
   * The blocks held, e.g. `3 blocks`.
   */
  readonly count: string;
  /**
   * Where: `cell [3] line 2` for cell code, else `file:line`.
   */
  readonly location: string;
  /**
   * The innermost frame's `file:line`, shortened from the left.
   */
  readonly fileLine: string;
  /**
   * The full `file:line` (for a tooltip).
   */
  readonly fileLineFull: string;
  /**
   * The innermost frame's function.
   */
  readonly function: string;
  /**
   * The text of the source line, when known (cell code only).
   */
  readonly source: string;
}

/**
 * The denominator of a site's percentage: what the cell added at its peak, and at least the sum
 * of its sites at the peak, so no share exceeds 100 %.
 *
 * @param run - the cell's record.
 * @returns bytes; 0 when the cell added nothing.
 */
export function peakBase(run: ICellRun): number {
  const sites = run.top_at_peak ?? [];
  const sum = sites.reduce((total, site) => total + site.bytes, 0);
  return Math.max(run.peak_bytes - run.start_bytes, sum, 0);
}

/**
 * Format a share as a percentage: `62 %`, `0.4 %`, `<0.1 %`.
 *
 * @param part - bytes.
 * @param whole - bytes; an empty string is returned when 0.
 */
export function formatPercent(part: number, whole: number): string {
  if (!(whole > 0)) {
    return '';
  }
  const value = (100 * part) / whole;
  if (value > 0 && value < 0.1) {
    return '<0.1 %';
  }
  return `${value >= 10 ? Math.round(value) : Math.round(value * 10) / 10} %`;
}

/**
 * `file:line`, or the file alone when the line is unknown.
 *
 * @param frame - a frame or site.
 */
export function fileLine(frame: IFrame): string {
  return frame.line === null ? frame.file : `${frame.file}:${frame.line}`;
}

/**
 * Where a frame is, in words: `cell [3] line 2` for cell code, else its `file:line`.
 *
 * @param frame - a frame or site.
 * @param maxPath - the longest file path shown.
 */
export function frameLocation(frame: IFrame, maxPath = 48): string {
  if (frame.cell_line !== null) {
    const count = frame.execution_count;
    const cell = count === null || count === undefined ? 'cell' : `cell [${count}]`;
    return `${cell} line ${frame.cell_line}`;
  }
  return displayText(shortenPath(fileLine(frame), maxPath));
}

/**
 * The text of a frame's source line, for cell code.
 *
 * @param frame - a frame or site.
 * @param lookup - finds a cell run's source.
 * @returns the line, trimmed and made displayable; empty when unknown.
 */
export function frameSource(frame: IFrame, lookup: SourceLookup): string {
  if (frame.cell_id === null || frame.cell_line === null) {
    // A file's line as the kernel read it: also when the file is not on the Lab server.
    return frame.source ? displayText(frame.source, 200) : '';
  }
  const source = lookup(frame.cell_id, frame.execution_count);
  if (source === undefined) {
    return '';
  }
  const line = source.split('\n')[frame.cell_line - 1];
  return line === undefined ? '' : displayText(line.trim(), 200);
}

/**
 * Present a site as a row of plain text.
 *
 * @param site - the site.
 * @param base - the cell's {@link peakBase}.
 * @param lookup - finds a cell run's source.
 */
export function siteRow(site: ISite, base: number, lookup: SourceLookup): ISiteRow {
  return {
    bytes: formatBytes(site.bytes),
    percent: formatPercent(site.bytes, base),
    count: site.count === 1 ? '1 block' : `${site.count.toLocaleString('en-US')} blocks`,
    location: frameLocation(site),
    fileLine: displayText(shortenPath(fileLine(site), 48)),
    fileLineFull: displayText(fileLine(site), 2048),
    function: displayText(site.function, 200),
    source: frameSource(site, lookup)
  };
}

/**
 * A source lookup over a list of cell runs: the run with that id and execution count, else the
 * latest run of the id, else `fallback`.
 *
 * @param cells - finished runs.
 * @param fallback - asked when no run matches (e.g. the notebook cell's current source).
 */
export function runSourceLookup(
  cells: ReadonlyArray<ICellRun>,
  fallback?: (cellId: string) => string | undefined
): SourceLookup {
  return (cellId, executionCount) => {
    let latest: ICellRun | undefined;
    for (const cell of cells) {
      if (cell.cell_id === cellId) {
        if (executionCount !== null && executionCount !== undefined && cell.execution_count === executionCount) {
          return cell.source;
        }
        latest = cell;
      }
    }
    return latest?.source ?? fallback?.(cellId);
  };
}
