/**
 * The chart's cell labels: `[12] df = pd.read_csv(…)`, thinned to fit the axis. Pure functions.
 */
import type { ICellStart } from '../comm/protocol';
import { displayText } from '../format/text';

/**
 * How long the code part of a label may be, in characters.
 */
export const LABEL_CODE_CHARS = 22;

/**
 * A cell's label in two parts: its execution count and its first line of code.
 */
export interface ICellLabel {
  /**
   * `[12]`, or `[?]` without an execution count.
   */
  readonly count: string;
  /**
   * The first line that is neither blank nor a comment, shortened (`df = pd.read_csv(…)`);
   * the first comment when the cell has only comments; empty for an empty cell.
   */
  readonly code: string;
}

/**
 * The first line of a cell's code that is neither blank nor a comment, trimmed.
 *
 * @param source - the cell's source.
 * @returns the line; the first comment line when there is no code; '' for a blank cell.
 */
export function firstCodeLine(source: string): string {
  let comment = '';
  for (const raw of source.split('\n')) {
    const line = raw.trim();
    if (line === '') {
      continue;
    }
    if (!line.startsWith('#')) {
      return line;
    }
    comment = comment || line;
  }
  return comment;
}

/**
 * Shorten a line of code to `max` characters: a call's arguments become `(…)` when that is
 * enough (`df = pd.read_csv(…)`), otherwise the line is cut with `…`.
 *
 * @param line - one line of code.
 * @param max - the longest result.
 */
export function shortenCode(line: string, max = LABEL_CODE_CHARS): string {
  if (line.length <= max) {
    return line;
  }
  const paren = line.indexOf('(');
  if (paren > 0 && paren + 3 <= max) {
    return `${line.slice(0, paren + 1)}…)`;
  }
  return `${line.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * A cell's label: `{ count: '[12]', code: 'df = pd.read_csv(…)' }`.
 *
 * @param cell - a run, or the running cell (no source: its count alone).
 * @param max - the longest code part.
 */
export function cellLabel(
  cell: Pick<ICellStart, 'execution_count'> & { readonly source?: string },
  max = LABEL_CODE_CHARS
): ICellLabel {
  return {
    count: `[${cell.execution_count ?? '?'}]`,
    code: shortenCode(displayText(firstCodeLine(cell.source ?? ''), 400), max)
  };
}

/**
 * A label as one line: `[12] df = pd.read_csv(…)`.
 *
 * @param label - the label.
 */
export function labelText(label: ICellLabel): string {
  return label.code ? `${label.count} ${label.code}` : label.count;
}

/**
 * The width given to a two-line label (`[12]` over the code) and to a count alone, in pixels.
 */
export const LABEL_WIDTH = { wide: 120, narrow: 40 } as const;

/**
 * The x-axis labels of the slots in view, thinned to fit.
 *
 * @param labels - one label per slot (slot i at x = i).
 * @param range - the x range in view.
 * @param plotWidth - the plot area's width in pixels.
 * @param escape - makes a label's text safe for plotly.
 * @returns plotly's `tickvals` and `ticktext`. Two-line labels (count over code) when at least
 *   three fit, or all the slots in view; otherwise counts alone. Ticks sit on multiples of a
 *   step, so they do not jump while the view pans.
 */
export function xTicks(
  labels: ReadonlyArray<ICellLabel>,
  range: readonly [number, number],
  plotWidth: number,
  escape: (text: string) => string = text => text
): { tickvals: number[]; ticktext: string[] } {
  const first = Math.max(0, Math.ceil(range[0]));
  const last = Math.min(labels.length - 1, Math.floor(range[1]));
  const tickvals: number[] = [];
  const ticktext: string[] = [];
  if (last < first) {
    return { tickvals, ticktext };
  }
  const count = last - first + 1;
  const width = Number.isFinite(plotWidth) && plotWidth > 0 ? plotWidth : 300;
  const wideFit = Math.floor(width / LABEL_WIDTH.wide);
  const wide = wideFit >= 3 || wideFit >= count;
  const fit = Math.max(1, wide ? wideFit : Math.floor(width / LABEL_WIDTH.narrow));
  const step = Math.max(1, Math.ceil(count / fit));
  for (let i = Math.ceil(first / step) * step; i <= last; i += step) {
    const label = labels[i];
    tickvals.push(i);
    ticktext.push(wide && label.code ? `${label.count}<br>${escape(label.code)}` : label.count);
  }
  return { tickvals, ticktext };
}
