/**
 * The ghost: another run of the notebook (a saved report, or the previous run of each cell in the
 * kernel's ledger) drawn dimmed on the heap chart, and compared cell by cell in the badges'
 * tooltips. Pure: no DOM, no kernel.
 */
import { escapePlotlyText } from '../chart/series';
import type { ICellRun } from '../comm/protocol';
import { formatSignedBytes } from '../format/bytes';
import { firstCodeLine, IRunFigures, netBytes, peakAdded } from './budget';
import { IReportRun, matchCells, MatchKind, peakDeltaText, reportCells } from './match';

/**
 * Where start and end of a run are drawn, left and right of its slot (as the heap line).
 */
const SLOT_OFFSET = 0.3;

/**
 * A cell of the ghost: a report cell (one per notebook cell, its last run).
 */
export interface IGhostCell extends IReportRun {
  readonly index: number;
  readonly execution_count?: number | null;
}

/**
 * The other run the notebook is compared with.
 */
export interface IGhost {
  /**
   * A saved report, or the previous run of each cell in the ledger.
   */
  readonly kind: 'saved' | 'previous';
  /**
   * The other side in a word or two, in the tooltip: "vs saved", "vs previous run".
   */
  readonly label: string;
  /**
   * The trace's name in the chart's legend.
   */
  readonly legend: string;
  /**
   * The saved report's path, when it is one.
   */
  readonly path: string | null;
  /**
   * Its cells, in notebook order.
   */
  readonly cells: ReadonlyArray<IGhostCell>;
}

/**
 * A notebook cell as it is now: its id, position, and the source of its last run.
 */
export interface ILiveCell {
  readonly cell_id: string;
  readonly index: number;
  readonly source: string;
}

/**
 * A live cell's match in the ghost.
 */
export interface IGhostMatch {
  readonly kind: MatchKind;
  readonly cell: IGhostCell;
}

/**
 * The ghost trace as the chart draws it: one segment per matched run (start, peak, end; null
 * between segments).
 */
export interface IGhostTrace {
  readonly name: string;
  readonly x: Array<number | null>;
  readonly y: Array<number | null>;
  readonly hover: string[];
}

/**
 * The ghost of a saved report.
 *
 * @param report - a report that passed the report validator.
 * @param path - where it was read.
 */
export function ghostFromReport(
  report: { readonly cells?: ReadonlyArray<IReportRun>; readonly target?: { readonly kind?: string } | null },
  path: string | null
): IGhost {
  return { kind: 'saved', label: 'saved', legend: 'saved report', path, cells: reportCells(report) };
}

/**
 * The ghost of the ledger's previous runs: for every notebook cell run at least twice, the run
 * before its last one, at the cell's position now.
 *
 * @param cellIds - the notebook's cell ids, in order.
 * @param runs - a cell's finished runs, oldest first.
 * @returns the ghost, or null when no cell has run twice.
 */
export function ghostFromPreviousRuns(
  cellIds: ReadonlyArray<string>,
  runs: (cellId: string) => ReadonlyArray<ICellRun>
): IGhost | null {
  const cells: IGhostCell[] = [];
  cellIds.forEach((id, index) => {
    const list = runs(id);
    if (list.length >= 2) {
      cells.push({ ...list[list.length - 2], index });
    }
  });
  return cells.length ? { kind: 'previous', label: 'previous run', legend: 'previous run', path: null, cells } : null;
}

/**
 * The notebook's cells that have a finished run, as matching reads them.
 *
 * @param cellIds - the notebook's cell ids, in order.
 * @param lastRun - a cell's last finished run.
 */
export function liveCells(
  cellIds: ReadonlyArray<string>,
  lastRun: (cellId: string) => ICellRun | undefined
): ILiveCell[] {
  const out: ILiveCell[] = [];
  cellIds.forEach((id, index) => {
    const run = lastRun(id);
    if (run) {
      out.push({ cell_id: id, index, source: run.source });
    }
  });
  return out;
}

/**
 * Match the notebook's cells with the ghost's, as `heapscope diff` does (the ghost is before).
 *
 * @returns each matched live cell's ghost cell, by cell id.
 */
export function matchGhost(ghost: IGhost, live: ReadonlyArray<ILiveCell>): Map<string, IGhostMatch> {
  const out = new Map<string, IGhostMatch>();
  for (const [kind, i, j] of matchCells(ghost.cells, live)) {
    if (i !== null && j !== null) {
      out.set(live[j].cell_id, { kind, cell: ghost.cells[i] });
    }
  }
  return out;
}

/**
 * The ghost trace: at the slot of each cell's last run (a cell run more than once counts with its
 * last run, as in `heapscope diff`), the matched ghost run drawn from this run's start — start,
 * start + its peak added, start + its net — so that ghost above the peak marker means this run
 * added less at its peak than the ghost did.
 *
 * @param runs - the chart's runs (every finished run, in order; run i at x = i).
 * @param matches - {@link matchGhost}'s result.
 * @param ghost - the ghost (its legend name and label).
 */
export function ghostTrace(
  runs: ReadonlyArray<ICellRun>,
  matches: ReadonlyMap<string, IGhostMatch>,
  ghost: IGhost
): IGhostTrace {
  const last = new Map<string, number>();
  runs.forEach((run, i) => {
    if (run.cell_id !== null) {
      last.set(run.cell_id, i);
    }
  });
  const x: Array<number | null> = [];
  const y: Array<number | null> = [];
  const hover: string[] = [];
  runs.forEach((run, i) => {
    const match = run.cell_id !== null && last.get(run.cell_id) === i ? matches.get(run.cell_id) : undefined;
    if (!match) {
      return;
    }
    const start = run.start_bytes;
    const text = ghostHover(match, run, ghost);
    if (x.length) {
      x.push(null);
      y.push(null);
      hover.push('');
    }
    x.push(i - SLOT_OFFSET, i, i + SLOT_OFFSET);
    y.push(start, Math.max(0, start + peakAdded(match.cell)), Math.max(0, start + netBytes(match.cell)));
    hover.push(text, text, text);
  });
  return { name: ghost.legend, x, y, hover };
}

/**
 * The hover text of a ghost segment (plotly text: `<br>` between lines; the label escaped).
 */
function ghostHover(match: IGhostMatch, run: IRunFigures, ghost: IGhost): string {
  const label = escapePlotlyText(firstCodeLine(String(match.cell.source ?? ''), 40));
  return [
    `${ghost.legend} · [${match.cell.execution_count ?? '?'}] ${label}`,
    `peak ${formatSignedBytes(peakAdded(match.cell))} · net ${formatSignedBytes(netBytes(match.cell))}`,
    escapePlotlyText(peakDeltaText(match.cell, run, ghost.label, match.kind)),
    'drawn from this run’s start'
  ].join('<br>');
}

/**
 * The badge tooltip's line for a cell compared with the ghost, or null when it has no match.
 *
 * @param ghost - the ghost.
 * @param match - the cell's match (from {@link matchGhost}).
 * @param run - the cell's last run.
 */
export function ghostTooltipLine(ghost: IGhost, match: IGhostMatch | undefined, run: IRunFigures): string | null {
  return match ? peakDeltaText(match.cell, run, ghost.label, match.kind) : null;
}
