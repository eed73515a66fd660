/**
 * The heap chart's data arrays, kept across redraws: runs appended to the model are appended to
 * the arrays (O(new runs) per redraw, no copies); anything else rebuilds them.
 */
import type { ICellRun } from '../comm/protocol';
import { formatBytes, formatSignedBytes } from '../format/bytes';
import { outcomeText, runOutcome } from '../model/outcome';
import { cellLabel, ICellLabel, labelText } from './labels';

/**
 * Where start and end of a run are drawn, left and right of its slot.
 */
export const SLOT_OFFSET = 0.3;

/**
 * Make a kernel string safe for plotly's text (which understands a few HTML tags): it is shown
 * as typed.
 *
 * @param text - any text from the kernel.
 * @returns the text with `&`, `<` and `>` written as the entities plotly decodes (without `<`
 *   no tag can start; plotly does not decode `&quot;`, and a quote is harmless outside a tag).
 */
export function escapePlotlyText(text: string): string {
  return text.replace(/[&<>]/g, c => Private.ENTITIES[c]);
}

/**
 * The hover text of a finished run: its label, then short lines for a narrow sidebar.
 *
 * @param cell - the run.
 * @param label - its label.
 */
export function runHover(cell: ICellRun, label: ICellLabel = cellLabel(cell)): string {
  const lines = [
    escapePlotlyText(labelText(label)),
    `net ${formatSignedBytes(cell.end_bytes - cell.start_bytes)} · ` +
      `peak ${formatSignedBytes(cell.peak_bytes - cell.start_bytes)}`,
    `start ${formatBytes(cell.start_bytes)}`,
    `peak ${formatBytes(cell.peak_bytes)}`,
    `end ${formatBytes(cell.end_bytes)}`
  ];
  const outcome = outcomeText(runOutcome(cell));
  if (outcome) {
    lines.push(outcome);
  }
  return lines.join('<br>');
}

/**
 * The arrays the heap chart draws, one entry per finished run (x = its position), grown in place.
 */
export class HeapSeries {
  /** The runs' positions (x of the peaks). */
  readonly x: number[] = [];
  /** Peak heap of each run. */
  readonly peak: number[] = [];
  /** x of the start markers (x − {@link SLOT_OFFSET}). */
  readonly startX: number[] = [];
  /** Heap at each run's start. */
  readonly start: number[] = [];
  /** x of the end markers (x + {@link SLOT_OFFSET}). */
  readonly endX: number[] = [];
  /** Heap at each run's end. */
  readonly end: number[] = [];
  /** The heap line: start, peak, end of every run. */
  readonly lineX: number[] = [];
  /** The heap line's values. */
  readonly lineY: number[] = [];
  /** Cell boundaries: x = i + 0.5 twice and a gap, one per run. */
  readonly boundaryX: Array<number | null> = [];
  /** The boundaries' y, from 0 to 1 of the plot's height (a second y axis). */
  readonly boundaryY: Array<number | null> = [];
  /** Each run's cell id ('' without one). */
  readonly ids: string[] = [];
  /** Each run's hover text (plotly-safe). */
  readonly hover: string[] = [];
  /** Each run's label. */
  readonly labels: ICellLabel[] = [];
  /** The runs drawn, in order. */
  readonly runs: ICellRun[] = [];

  /**
   * The largest value of any run (0 when empty).
   */
  get top(): number {
    return this._top;
  }

  /**
   * The smallest positive value of any run (Infinity when none).
   */
  get bottom(): number {
    return this._bottom;
  }

  /**
   * A number that changes whenever the arrays change (plotly's `datarevision`).
   */
  get revision(): number {
    return this._revision;
  }

  /**
   * Bring the arrays in step with a model's runs.
   *
   * @param cells - the runs, in order.
   * @param version - the model's `cellsVersion` (omit it: always rebuilt).
   * @returns 'none', 'append' (runs were appended) or 'rebuild'.
   */
  sync(cells: ReadonlyArray<ICellRun>, version?: number): 'none' | 'append' | 'rebuild' {
    const count = this.runs.length;
    const appendable =
      version !== undefined &&
      version === this._version &&
      cells.length >= count &&
      (count === 0 || cells[count - 1] === this.runs[count - 1]);
    if (appendable && cells.length === count) {
      return 'none';
    }
    this._version = version;
    this._revision++;
    if (appendable) {
      for (let i = count; i < cells.length; i++) {
        this._add(cells[i]);
      }
      return 'append';
    }
    this._clear();
    for (const cell of cells) {
      this._add(cell);
    }
    return 'rebuild';
  }

  private _add(cell: ICellRun): void {
    const i = this.runs.length;
    const label = cellLabel(cell);
    this.runs.push(cell);
    this.labels.push(label);
    this.x.push(i);
    this.peak.push(cell.peak_bytes);
    this.startX.push(i - SLOT_OFFSET);
    this.start.push(cell.start_bytes);
    this.endX.push(i + SLOT_OFFSET);
    this.end.push(cell.end_bytes);
    this.lineX.push(i - SLOT_OFFSET, i, i + SLOT_OFFSET);
    this.lineY.push(cell.start_bytes, cell.peak_bytes, cell.end_bytes);
    this.boundaryX.push(i + 0.5, i + 0.5, null);
    this.boundaryY.push(0, 1, null);
    this.ids.push(cell.cell_id ?? '');
    this.hover.push(runHover(cell, label));
    for (const v of [cell.start_bytes, cell.peak_bytes, cell.end_bytes]) {
      if (Number.isFinite(v)) {
        this._top = Math.max(this._top, v);
        if (v > 0) {
          this._bottom = Math.min(this._bottom, v);
        }
      }
    }
  }

  private _clear(): void {
    for (const array of [
      this.x,
      this.peak,
      this.startX,
      this.start,
      this.endX,
      this.end,
      this.lineX,
      this.lineY,
      this.boundaryX,
      this.boundaryY,
      this.ids,
      this.hover,
      this.labels,
      this.runs
    ] as unknown[][]) {
      array.length = 0;
    }
    this._top = 0;
    this._bottom = Infinity;
  }

  private _version: number | undefined = undefined;
  private _revision = 0;
  private _top = 0;
  private _bottom = Infinity;
}

/**
 * A module-private namespace.
 */
namespace Private {
  export const ENTITIES: { [c: string]: string } = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;'
  };
}
