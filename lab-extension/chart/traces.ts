/**
 * Pure building of the heap chart: model state → plotly data and layout.
 */
import type { Config, Data, Layout, Shape } from 'plotly.js-dist-min';

import type { HeapTick, ICellRun, ICellStart } from '../comm/protocol';
import { formatBytes, formatSignedBytes } from '../format/bytes';
import type { IChartTheme } from './theme';

/**
 * What the chart shows: the finished runs in order and the running cell.
 */
export interface IHeapChartState {
  /**
   * Every finished run, in execution order.
   */
  readonly cells: ReadonlyArray<ICellRun>;
  /**
   * The cell executing now, or null.
   */
  readonly running: ICellStart | null;
  /**
   * Live ticks of the running cell, oldest first (optional).
   */
  readonly ticks?: ReadonlyArray<HeapTick>;
}

/**
 * A plotly figure.
 */
export interface IHeapFigure {
  /**
   * The traces, in drawing order.
   */
  readonly data: Data[];
  /**
   * The layout.
   */
  readonly layout: Partial<Layout>;
}

/**
 * The plotly configuration of the chart (the widget handles resizing).
 */
export const CHART_CONFIG: Partial<Config> = {
  displaylogo: false,
  responsive: false,
  displayModeBar: false
};

/**
 * Where start and end of a run are drawn, left and right of its slot.
 */
export const SLOT_OFFSET = 0.3;

/**
 * The names of the traces, in order.
 *
 * - `Peak` (first, one marker per finished run, at x = its position): hovering shows the
 *   figures, `customdata` holds the cell id;
 * - `Heap`: a line through start (x − 0.3), peak (x) and end (x + 0.3) of every run;
 * - `Running` (only while a cell runs): its heap now (the last live tick, else its start), at
 *   the next position.
 */
export const TRACE_NAMES = { peak: 'Peak', heap: 'Heap', running: 'Running', live: 'Live' } as const;

/**
 * At most this many live ticks are drawn (evenly thinned, the newest always kept).
 */
export const MAX_LIVE_POINTS = 400;

/**
 * Build the chart of the heap across executed cells.
 *
 * @param state - the finished runs and the running cell.
 * @param theme - concrete colours.
 * @returns plotly data and layout; run i (0-based) sits at x = i.
 */
export function buildHeapFigure(state: IHeapChartState, theme: IChartTheme): IHeapFigure {
  const cells = state.cells;
  const positions = cells.map((_, i) => i);
  const data: Data[] = [
    {
      type: 'scatter',
      name: TRACE_NAMES.peak,
      mode: 'markers',
      x: positions,
      y: cells.map(cell => cell.peak_bytes),
      customdata: cells.map(cell => cell.cell_id ?? ''),
      hovertext: cells.map(cell => Private.cellHover(cell)),
      hovertemplate: '%{hovertext}<extra></extra>',
      marker: { symbol: 'triangle-up', size: 10, color: theme.peak }
    },
    {
      type: 'scatter',
      name: TRACE_NAMES.heap,
      mode: 'lines',
      ...Private.heapPath(cells),
      hoverinfo: 'skip',
      line: { color: theme.heap, width: 2 }
    }
  ];
  const running = state.running;
  if (running) {
    const ticks = state.ticks ?? [];
    const now = ticks.length > 0 ? ticks[ticks.length - 1][1] : running.start_bytes;
    if (ticks.length > 0) {
      data.push({
        type: 'scatter',
        name: TRACE_NAMES.live,
        mode: 'lines',
        ...liveLine(running, ticks, cells.length),
        hoverinfo: 'skip',
        line: { color: theme.running, width: 2 }
      });
    }
    data.push({
      type: 'scatter',
      name: TRACE_NAMES.running,
      mode: 'markers',
      x: [cells.length],
      y: [now],
      customdata: [running.cell_id ?? ''],
      hovertext: [Private.runningHover(running, now)],
      hovertemplate: '%{hovertext}<extra></extra>',
      marker: { symbol: 'circle-open', size: 10, color: theme.running, line: { width: 2 } }
    });
  }
  const slots = cells.length + (running ? 1 : 0);
  const labelled = [...cells, ...(running ? [running] : [])];
  let top = 0;
  for (const trace of data) {
    for (const y of (trace as { y?: number[] }).y ?? []) {
      top = Number.isFinite(y) && y > top ? y : top;
    }
  }
  return {
    data,
    layout: {
      autosize: true,
      showlegend: false,
      hovermode: 'closest',
      uirevision: 'heapscope',
      margin: { l: 48, r: 12, t: 12, b: 32 },
      ...themedLayout(theme),
      xaxis: {
        range: [-0.5, Math.max(slots, 1) - 0.5],
        ...Private.ticks(labelled),
        showgrid: false,
        zeroline: false,
        fixedrange: true,
        linecolor: theme.grid
      },
      yaxis: {
        rangemode: 'tozero',
        automargin: true,
        ...byteTicks(top),
        gridcolor: theme.grid,
        zerolinecolor: theme.grid,
        linecolor: theme.grid
      },
      shapes: Private.boundaries(slots, theme)
    }
  };
}

/**
 * Y-axis ticks for byte counts from 0 to `top`, labelled like every other figure ("500 MB").
 *
 * @param top - the largest value on the axis.
 * @returns plotly's `tickvals`/`ticktext` (array tick mode): 0 and 3-7 round steps (1, 2 or 5
 *   times a power of ten) up to the first step at or above `top`.
 */
export function byteTicks(top: number): { tickmode: 'array'; tickvals: number[]; ticktext: string[] } {
  const span = Number.isFinite(top) && top > 0 ? top : 1;
  const raw = span / 5;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = Math.max(1, ([1, 2, 5, 10].find(m => m * power >= raw) ?? 10) * power);
  const tickvals: number[] = [];
  for (let i = 0; i === 0 || tickvals[i - 1] < span; i++) {
    tickvals.push(i * step);
  }
  return { tickmode: 'array', tickvals, ticktext: tickvals.map(formatBytes) };
}

/**
 * The layout fields every heapscope chart takes from the theme: backgrounds, font, hover labels.
 *
 * @param theme - concrete colours.
 */
export function themedLayout(theme: IChartTheme): Partial<Layout> {
  return {
    paper_bgcolor: theme.background,
    plot_bgcolor: theme.background,
    font: { family: theme.fontFamily, size: theme.fontSize, color: theme.foreground },
    hoverlabel: {
      align: 'left',
      bgcolor: theme.background,
      bordercolor: theme.grid,
      font: { family: theme.fontFamily, color: theme.foreground }
    }
  };
}

/**
 * The live line of the running cell: its ticks spread over its slot by time (the slot's left
 * edge is the cell's start, the right edge the newest tick), thinned to
 * {@link MAX_LIVE_POINTS}.
 *
 * @param running - the running cell.
 * @param ticks - its ticks, oldest first.
 * @param slot - the running cell's x position.
 * @returns the line's points, starting at the cell's start.
 */
export function liveLine(
  running: ICellStart,
  ticks: ReadonlyArray<HeapTick>,
  slot: number
): { x: number[]; y: number[] } {
  const t0 = Math.min(running.started_at, ticks.length > 0 ? ticks[0][0] : running.started_at);
  const t1 = ticks.length > 0 ? ticks[ticks.length - 1][0] : t0;
  const span = t1 - t0 > 1e-6 ? t1 - t0 : 1;
  const step = Math.max(1, Math.ceil(ticks.length / MAX_LIVE_POINTS));
  const x = [slot - SLOT_OFFSET];
  const y = [running.start_bytes];
  for (let i = 0; i < ticks.length; i += step) {
    const at = i + step >= ticks.length ? ticks.length - 1 : i;
    x.push(slot - SLOT_OFFSET + (2 * SLOT_OFFSET * (ticks[at][0] - t0)) / span);
    y.push(ticks[at][1]);
  }
  return { x, y };
}

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
 * A module-private namespace.
 */
namespace Private {
  export const ENTITIES: { [c: string]: string } = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;'
  };

  /**
   * How long a source line may be in a hover label.
   */
  const SOURCE_CHARS = 24;

  /**
   * `[3]`, or `[?]` without a run count.
   */
  export function executionLabel(cell: ICellStart): string {
    return `[${cell.execution_count ?? '?'}]`;
  }

  /**
   * The first non-blank line of a cell's source, trimmed and shortened.
   */
  export function firstLine(source: string): string {
    const line = (source.split('\n').find(l => l.trim() !== '') ?? '').trim();
    return line.length > SOURCE_CHARS ? `${line.slice(0, SOURCE_CHARS - 1)}…` : line;
  }

  /**
   * The hover text of a finished run: short lines, for a narrow sidebar.
   */
  export function cellHover(cell: ICellRun): string {
    const lines = [
      `${executionLabel(cell)} ${escapePlotlyText(firstLine(cell.source))}`,
      `net ${formatSignedBytes(cell.end_bytes - cell.start_bytes)} · ` +
        `peak ${formatSignedBytes(cell.peak_bytes - cell.start_bytes)}`,
      `start ${formatBytes(cell.start_bytes)}`,
      `peak ${formatBytes(cell.peak_bytes)}`,
      `end ${formatBytes(cell.end_bytes)}`
    ];
    if (cell.status !== 'ok') {
      lines.push(cell.status === 'error' ? 'raised an error' : 'aborted');
    }
    return lines.join('<br>');
  }

  /**
   * The hover text of the running cell.
   */
  export function runningHover(cell: ICellStart, now: number): string {
    return (
      `${executionLabel(cell)} running<br>net ${formatSignedBytes(now - cell.start_bytes)}<br>` +
      `start ${formatBytes(cell.start_bytes)}<br>now ${formatBytes(now)}`
    );
  }

  /**
   * At most this many labels on the x axis.
   */
  export const MAX_TICKS = 10;

  /**
   * The x axis labels: the execution counts, thinned to at most {@link MAX_TICKS}.
   */
  export function ticks(cells: ReadonlyArray<ICellStart>): { tickvals: number[]; ticktext: string[] } {
    const step = Math.max(1, Math.ceil(cells.length / MAX_TICKS));
    const tickvals: number[] = [];
    const ticktext: string[] = [];
    for (let i = 0; i < cells.length; i += step) {
      tickvals.push(i);
      ticktext.push(executionLabel(cells[i]));
    }
    return { tickvals, ticktext };
  }

  /**
   * The heap line's points: start, peak and end of every run.
   */
  export function heapPath(cells: ReadonlyArray<ICellRun>): { x: number[]; y: number[] } {
    const x: number[] = [];
    const y: number[] = [];
    cells.forEach((cell, i) => {
      x.push(i - SLOT_OFFSET, i, i + SLOT_OFFSET);
      y.push(cell.start_bytes, cell.peak_bytes, cell.end_bytes);
    });
    return { x, y };
  }

  /**
   * Dotted vertical lines between run slots.
   */
  export function boundaries(slots: number, theme: IChartTheme): Partial<Shape>[] {
    const shapes: Partial<Shape>[] = [];
    for (let i = 0; i + 1 < slots; i++) {
      shapes.push({
        type: 'line',
        xref: 'x',
        yref: 'paper',
        x0: i + 0.5,
        x1: i + 0.5,
        y0: 0,
        y1: 1,
        layer: 'below',
        line: { color: theme.grid, width: 1, dash: 'dot' }
      });
    }
    return shapes;
  }
}
