/**
 * Pure building of the heap chart: model state → plotly data and layout.
 */
import type { Annotation, Config, Data, Layout } from 'plotly.js-dist-min';

import type { HeapTick, ICellRun, ICellStart } from '../comm/protocol';
import { formatBytes, formatSignedBytes } from '../format/bytes';
import { cellLabel, ICellLabel, labelText, xTicks } from './labels';
import { byteTicks, clampTo, clipTop, logByteTicks, ScaleMode } from './scale';
import { escapePlotlyText, HeapSeries, SLOT_OFFSET } from './series';
import type { IChartTheme } from './theme';
import { heapNowHover } from '../holders/now';

export { byteTicks } from './scale';
export { escapePlotlyText, SLOT_OFFSET } from './series';

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
  /**
   * The model's `cellsVersion`: with a kept {@link HeapSeries}, appended runs are only appended.
   */
  readonly cellsVersion?: number;
  /**
   * Another run of the notebook drawn dimmed (a saved report, the previous runs), or null.
   */
  readonly ghost?: IGhostChartTrace | null;
  /**
   * The heap now, when it moved away from the last run's end between cells (a release from the
   * Holders view; holders/now.ts), or null: a "now" marker next to the last run.
   */
  readonly now?: number | null;
}

/**
 * The ghost trace: segments of (x, heap) points with null between them, a hover text per point.
 */
export interface IGhostChartTrace {
  readonly name: string;
  readonly x: ReadonlyArray<number | null>;
  readonly y: ReadonlyArray<number | null>;
  readonly hover: ReadonlyArray<string>;
}

/**
 * How to draw the chart.
 */
export interface IHeapChartOptions {
  /**
   * The y scale (default linear).
   */
  scale?: ScaleMode;
  /**
   * The plot area's width in pixels, to thin the x labels (default 300).
   */
  plotWidth?: number;
  /**
   * The x range in view when the user zoomed (labels are thinned for it); default: every slot.
   */
  view?: readonly [number, number] | null;
  /**
   * Arrays kept from the previous draw (see {@link HeapSeries}); default: new ones.
   */
  series?: HeapSeries;
  /**
   * Whether the range slider may show (default true): not while runs arrive in a burst, when it
   * would draw every trace twice and replot in full as the runs cross its limits.
   */
  rangeSlider?: boolean;
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
 * The names of the traces (the legend's words), in order.
 *
 * - `peak` (first, one marker per finished run, at x = its position): hovering shows the
 *   figures, `customdata` holds the cell id;
 * - `heap`: a line through start (x − 0.3), peak (x) and end (x + 0.3) of every run (no legend);
 * - `start` and `end`: markers at both ends of every run (empty above
 *   {@link BOUNDARY_MAX_SLOTS} slots: the heap line still passes through them);
 * - `boundaries`: one dotted path between all slots (no legend; hidden above
 *   {@link BOUNDARY_MAX_SLOTS} slots);
 * - `live`: the running cell's ticks (empty when no cell runs);
 * - `running`: the running cell's heap now (the last live tick, else its start), at the next
 *   position (empty when no cell runs).
 */
export const TRACE_NAMES = {
  peak: 'peak',
  heap: 'heap',
  start: 'start',
  end: 'end',
  boundaries: 'boundaries',
  live: 'live',
  running: 'running',
  now: 'now'
} as const;

/**
 * The index of each trace in the figure's data.
 */
export const TRACE_INDEX = { peak: 0, heap: 1, start: 2, end: 3, boundaries: 4, live: 5, running: 6, now: 7 } as const;

/**
 * At most this many live ticks are drawn (evenly thinned, the newest always kept).
 */
export const MAX_LIVE_POINTS = 400;

/**
 * Above this many slots the boundaries are hidden (they would fill the plot).
 */
export const BOUNDARY_MAX_SLOTS = 60;

/**
 * From this many slots on the x axis has a range slider...
 */
export const RANGE_SLIDER_SLOTS = 30;

/**
 * ...up to this many: the slider draws every trace a second time, which more than doubles the
 * draw of hundreds of runs; above it the chart zooms by dragging (double click: every run).
 */
export const RANGE_SLIDER_MAX_SLOTS = 150;

/**
 * The y axis title (its unit: the tick labels say kB, MB, GB in decimal units).
 */
export const Y_TITLE = 'heap (bytes; 1 MB = 10⁶ B)';

/**
 * The x axis title.
 */
export const X_TITLE = 'cell runs, in order';

/**
 * Build the chart of the heap across executed cells.
 *
 * @param state - the finished runs and the running cell.
 * @param theme - concrete colours.
 * @param options - scale, plot width, zoomed view and kept arrays.
 * @returns plotly data and layout; run i (0-based) sits at x = i.
 */
export function buildHeapFigure(
  state: IHeapChartState,
  theme: IChartTheme,
  options: IHeapChartOptions = {}
): IHeapFigure {
  const series = options.series ?? new HeapSeries();
  series.sync(state.cells, options.series ? state.cellsVersion : undefined);
  const scale = options.scale ?? 'linear';
  const n = series.runs.length;
  const running = state.running;
  const ticks = state.ticks ?? [];
  const now = running ? (ticks.length > 0 ? ticks[ticks.length - 1][1] : running.start_bytes) : 0;
  const live = running && ticks.length > 0 ? liveLine(running, ticks, n) : { x: [], y: [] };
  const slots = n + (running ? 1 : 0);
  // The heap now, after the last run (holders/now.ts): not while a cell runs.
  const heapNow = !running && n > 0 && typeof state.now === 'number' ? state.now : null;

  // The y axis.
  let top = series.top;
  let bottom = series.bottom;
  const ghost = state.ghost ?? null;
  const ghostY = ghost ? (ghost.y.filter(v => v !== null) as number[]) : [];
  for (const v of [...live.y, ...(running ? [now] : []), ...ghostY, ...(heapNow !== null ? [heapNow] : [])]) {
    top = Math.max(top, v);
    bottom = v > 0 ? Math.min(bottom, v) : bottom;
  }
  let clip: { top: number; clipped: number } | null = null;
  if (scale === 'clip') {
    clip = clipTop([...series.peak, ...series.end, ...(running ? [now] : [])]);
    if (clip.clipped === 0) {
      clip = null;
    }
  }
  const y = (values: number[]) => (clip ? clampTo(values, clip.top) : values);

  const small = slots > BOUNDARY_MAX_SLOTS;
  const data: Data[] = [
    {
      type: 'scatter',
      name: TRACE_NAMES.peak,
      mode: 'markers',
      x: series.x,
      y: y(series.peak),
      customdata: series.ids,
      hovertext: series.hover,
      hovertemplate: '%{hovertext}<extra></extra>',
      marker: { symbol: 'triangle-up', size: small ? 6 : 10, color: theme.peak }
    },
    {
      type: 'scatter',
      name: TRACE_NAMES.heap,
      mode: 'lines',
      x: series.lineX,
      y: y(series.lineY),
      showlegend: false,
      hoverinfo: 'skip',
      line: { color: theme.heap, width: 2 }
    },
    {
      type: 'scatter',
      name: TRACE_NAMES.start,
      mode: 'markers',
      // Many runs: start and end are on the heap line only (thousands of markers would cost
      // a draw several times longer and could not be told apart anyway).
      x: small ? Private.LEGEND_ONLY.x : series.startX,
      y: small ? Private.LEGEND_ONLY.y : y(series.start),
      // Not drawn, but kept in the legend, greyed (plotly leaves empty traces out of it).
      visible: small || n === 0 ? 'legendonly' : true,
      customdata: series.ids,
      hovertext: series.hover,
      hovertemplate: '%{hovertext}<extra></extra>',
      marker: { symbol: 'circle-open', size: 7, color: theme.heap, line: { width: 1.5 } }
    },
    {
      type: 'scatter',
      name: TRACE_NAMES.end,
      mode: 'markers',
      x: small ? Private.LEGEND_ONLY.x : series.endX,
      y: small ? Private.LEGEND_ONLY.y : y(series.end),
      visible: small || n === 0 ? 'legendonly' : true,
      customdata: series.ids,
      hovertext: series.hover,
      hovertemplate: '%{hovertext}<extra></extra>',
      marker: { symbol: 'circle', size: 7, color: theme.heap }
    },
    {
      type: 'scatter',
      name: TRACE_NAMES.boundaries,
      mode: 'lines',
      x: series.boundaryX,
      y: series.boundaryY,
      yaxis: 'y2',
      visible: !small,
      showlegend: false,
      hoverinfo: 'skip',
      line: { color: theme.grid, width: 1, dash: 'dot' }
    },
    {
      type: 'scatter',
      name: TRACE_NAMES.live,
      mode: 'lines',
      x: live.x.length > 0 ? live.x : Private.LEGEND_ONLY.x,
      y: live.x.length > 0 ? y(live.y) : Private.LEGEND_ONLY.y,
      // In the legend, greyed, while no cell runs.
      visible: live.x.length > 0 ? true : 'legendonly',
      hoverinfo: 'skip',
      line: { color: theme.running, width: 2 }
    },
    {
      type: 'scatter',
      name: TRACE_NAMES.running,
      mode: 'markers',
      x: running ? [n] : [],
      y: running ? y([now]) : [],
      customdata: running ? [running.cell_id ?? ''] : [],
      hovertext: running ? [Private.runningHover(running, now)] : [],
      hovertemplate: '%{hovertext}<extra></extra>',
      showlegend: false,
      marker: { symbol: 'circle-open', size: 10, color: theme.running, line: { width: 2 } }
    }
  ];
  const lastEnd = n > 0 ? series.end[n - 1] : 0;
  data.push({
    type: 'scatter',
    name: TRACE_NAMES.now,
    mode: 'lines+markers',
    // From the last run's end down (or up) to the heap now, just right of it.
    x: heapNow === null ? [] : [n - 1 + SLOT_OFFSET, n - 1 + SLOT_OFFSET + 0.1],
    y: heapNow === null ? [] : y([lastEnd, heapNow]),
    hovertext: heapNow === null ? [] : ['', heapNowHover(heapNow, lastEnd)],
    hovertemplate: '%{hovertext}<extra></extra>',
    showlegend: false,
    line: { color: theme.heap, width: 1.5, dash: 'dot' },
    marker: { symbol: ['circle', 'diamond-open'], size: [0, 9], color: theme.heap, line: { width: 1.5 } }
  });
  if (ghost) {
    // Last, so that the other traces keep their TRACE_INDEX.
    data.push(Private.ghostData(ghost, theme, clip ? clip.top : null));
  }

  // The x axis: every slot, or the user's zoom; labels thinned to the width.
  const full: [number, number] = [-0.5, Math.max(slots, 1) - 0.5];
  const labels: ICellLabel[] = running ? [...series.labels, cellLabel(running)] : series.labels;
  const view = options.view ?? full;
  const plotWidth = options.plotWidth ?? 300;
  const yaxis: Partial<Layout['yaxis']> =
    scale === 'log'
      ? {
          type: 'log',
          ...logByteTicks(bottom, top),
          range: [Math.log10(Number.isFinite(bottom) ? bottom : 1) - 0.05, Math.log10(top > 0 ? top : 10) + 0.05]
        }
      : {
          type: 'linear',
          ...byteTicks(clip ? clip.top : top),
          range: [0, (clip ? clip.top : top > 0 ? top : 1) * 1.08]
        };
  const annotations: Partial<Annotation>[] = clip
    ? [
        {
          xref: 'paper',
          yref: 'paper',
          x: 1,
          y: 1,
          xanchor: 'right',
          yanchor: 'top',
          showarrow: false,
          text: `${clip.clipped} above ${formatBytes(clip.top)} clipped ↑`,
          font: { size: Math.max(9, theme.fontSize - 2), color: theme.foreground },
          bgcolor: theme.background
        }
      ]
    : [];
  return {
    data,
    layout: {
      autosize: true,
      showlegend: true,
      legend: {
        orientation: 'h',
        x: 0,
        xanchor: 'left',
        y: 1.02,
        yanchor: 'bottom',
        font: { size: Math.max(9, theme.fontSize - 1) },
        itemclick: 'toggle',
        itemdoubleclick: 'toggleothers'
      },
      hovermode: 'closest',
      dragmode: 'zoom',
      // User zoom survives redraws; a new scale starts from its own y range.
      uirevision: 'heapscope',
      datarevision: `${series.revision}:${scale}:${slots}:${live.x.length}:${now}:${Private.ghostRevision(ghost)}:${heapNow}`,
      margin: { l: 56, r: 12, t: 30, b: 8 },
      ...themedLayout(theme),
      xaxis: {
        title: { text: X_TITLE, font: { size: Math.max(9, theme.fontSize - 1) }, standoff: 4 },
        range: full,
        tickmode: 'array',
        ...xTicks(labels, view, plotWidth, escapePlotlyText),
        tickfont: { size: Math.max(9, theme.fontSize - 1) },
        // The labels are thinned to fit: never turned (a turned label takes half the height).
        tickangle: 0,
        automargin: true,
        showgrid: false,
        zeroline: false,
        fixedrange: false,
        linecolor: theme.grid,
        rangeslider:
          options.rangeSlider !== false && slots >= RANGE_SLIDER_SLOTS && slots <= RANGE_SLIDER_MAX_SLOTS
            ? { visible: true, thickness: 0.08, bgcolor: theme.background, bordercolor: theme.grid, borderwidth: 1 }
            : { visible: false }
      },
      yaxis: {
        title: { text: Y_TITLE, font: { size: Math.max(9, theme.fontSize - 1) }, standoff: 4 },
        automargin: true,
        fixedrange: true,
        ...yaxis,
        gridcolor: theme.grid,
        zerolinecolor: theme.grid,
        linecolor: theme.grid
      },
      yaxis2: { overlaying: 'y', range: [0, 1], visible: false, fixedrange: true },
      annotations
    }
  };
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
 * @param start - the value at the cell's start, drawn at the slot's left edge (the heap's by
 *   default; null: none, as for RSS readings, which the cell's start does not carry).
 * @returns the line's points, starting at the cell's start.
 */
export function liveLine(
  running: ICellStart,
  ticks: ReadonlyArray<HeapTick>,
  slot: number,
  start: number | null = running.start_bytes
): { x: number[]; y: number[] } {
  const t0 = Math.min(running.started_at, ticks.length > 0 ? ticks[0][0] : running.started_at);
  const t1 = ticks.length > 0 ? ticks[ticks.length - 1][0] : t0;
  const span = t1 - t0 > 1e-6 ? t1 - t0 : 1;
  const step = Math.max(1, Math.ceil(ticks.length / MAX_LIVE_POINTS));
  const x = start === null ? [] : [slot - SLOT_OFFSET];
  const y = start === null ? [] : [start];
  for (let i = 0; i < ticks.length; i += step) {
    const at = i + step >= ticks.length ? ticks.length - 1 : i;
    x.push(slot - SLOT_OFFSET + (2 * SLOT_OFFSET * (ticks[at][0] - t0)) / span);
    y.push(ticks[at][1]);
  }
  return { x, y };
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * The data of a trace shown in the legend only (never drawn: `visible: 'legendonly'`).
   */
  export const LEGEND_ONLY = { x: [-1], y: [1] };

  /**
   * The ghost trace: dimmed, dotted, in the legend (greyed there while it has no point).
   */
  export function ghostData(ghost: IGhostChartTrace, theme: IChartTheme, clipTop: number | null): Data {
    const empty = ghost.x.length === 0;
    const ys = ghost.y.map(v => (v === null || clipTop === null ? v : Math.min(v, clipTop)));
    return {
      type: 'scatter',
      name: ghost.name,
      mode: 'lines+markers',
      x: empty ? LEGEND_ONLY.x : [...ghost.x],
      y: empty ? LEGEND_ONLY.y : ys,
      visible: empty ? 'legendonly' : true,
      connectgaps: false,
      opacity: 0.55,
      hovertext: [...ghost.hover],
      hovertemplate: '%{hovertext}<extra></extra>',
      line: { color: theme.foreground, width: 1.5, dash: 'dot' },
      marker: { symbol: 'diamond-open', size: 6, color: theme.foreground }
    };
  }

  /**
   * What of the ghost plotly must see change (`datarevision`).
   */
  export function ghostRevision(ghost: IGhostChartTrace | null): string {
    if (!ghost) {
      return '';
    }
    let sum = 0;
    for (const v of ghost.y) {
      sum += v ?? 0;
    }
    return `${ghost.name}:${ghost.x.length}:${sum}`;
  }

  /**
   * The hover text of the running cell.
   */
  export function runningHover(cell: ICellStart, now: number): string {
    return (
      `${escapePlotlyText(labelText(cellLabel(cell)))} · running<br>net ${formatSignedBytes(now - cell.start_bytes)}<br>` +
      `start ${formatBytes(cell.start_bytes)}<br>now ${formatBytes(now)}`
    );
  }
}
