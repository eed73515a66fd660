/**
 * The guard's part of the heap chart: each run's RSS beside its heap, the memory limit as a line
 * and the soft threshold under it. Pure: it adds traces to a figure built by `chart/traces.ts`.
 */
import type { Annotation, Data, Layout } from 'plotly.js-dist-min';

import type { HeapTick, ICellRun, ICellStart, IProfilerStatus } from '../comm/protocol';
import { formatBytes } from '../format/bytes';
import { byteTicks, logByteTicks, ScaleMode } from '../chart/scale';
import { SLOT_OFFSET } from '../chart/series';
import { liveLine } from '../chart/traces';
import { limitText, percentText } from './text';

/**
 * The trace names the guard adds (the legend's words).
 */
export const GUARD_TRACE_NAMES = { rss: 'RSS', limit: 'limit', soft: 'soft threshold' } as const;

/**
 * The limit is drawn inside the plot (the y axis stretched to it) once the highest heap or RSS
 * reaches this share of it; below, an annotation says where it is (a 16 GB line over a 200 MB heap
 * would flatten every run).
 */
export const LIMIT_IN_VIEW_SHARE = 1 / 3;

/**
 * The guard's colours (concrete values: plotly takes no CSS variables).
 */
export interface IGuardColours {
  /**
   * The RSS line.
   */
  readonly rss: string;
  /**
   * The limit line.
   */
  readonly limit: string;
  /**
   * The soft threshold line.
   */
  readonly soft: string;
  /**
   * Text of the annotation.
   */
  readonly foreground: string;
  /**
   * The annotation's background.
   */
  readonly background: string;
}

/**
 * The colours used without a theme (JupyterLab's light theme values).
 */
export const FALLBACK_GUARD_COLOURS: IGuardColours = {
  rss: '#7b1fa2',
  limit: '#d32f2f',
  soft: '#f57c00',
  foreground: 'rgba(0, 0, 0, 0.87)',
  background: '#ffffff'
};

/**
 * The running cell's RSS readings, for the live part of the RSS line.
 */
export interface ILiveRss {
  /**
   * The running cell.
   */
  readonly running: ICellStart;
  /**
   * Its RSS readings (`ticks.rss`), oldest first.
   */
  readonly rss: ReadonlyArray<HeapTick>;
}

/**
 * The RSS line: start (x − 0.3), peak (x) and end (x + 0.3) of every run that has RSS figures,
 * broken (null) around runs without them; then the running cell's RSS readings spread over its slot
 * (x = runs.length) by time, as the heap's live line is.
 *
 * @param runs - the runs drawn, run i at x = i.
 * @param live - the running cell's RSS readings, if any.
 */
export function rssLine(
  runs: ReadonlyArray<ICellRun>,
  live: ILiveRss | null = null
): {
  x: Array<number | null>;
  y: Array<number | null>;
  top: number;
  count: number;
} {
  const x: Array<number | null> = [];
  const y: Array<number | null> = [];
  let top = 0;
  let count = 0;
  runs.forEach((run, i) => {
    const start = run.rss_start_bytes;
    const end = run.rss_end_bytes;
    if (start === undefined || end === undefined) {
      if (x.length > 0 && x[x.length - 1] !== null) {
        x.push(null);
        y.push(null);
      }
      return;
    }
    const peak = Math.max(run.rss_peak_bytes ?? 0, start, end);
    x.push(i - SLOT_OFFSET, i, i + SLOT_OFFSET);
    y.push(start, peak, end);
    top = Math.max(top, peak);
    count++;
  });
  if (live && live.rss.length > 0) {
    const line = liveLine(live.running, live.rss, runs.length, null);
    if (x.length > 0 && x[x.length - 1] !== null) {
      x.push(null);
      y.push(null);
    }
    x.push(...line.x);
    y.push(...line.y);
    top = Math.max(top, ...line.y);
    count += line.x.length;
  }
  return { x, y, top, count };
}

/**
 * Whether the limit is drawn inside the plot: the heap or RSS reaches a third of it, or the usage
 * counted against it (which can be more than both: the address space for RLIMIT_AS, page cache in a
 * cgroup) reaches half of it.
 *
 * @param dataTop - the highest heap or RSS value drawn.
 * @param limit - the limit in bytes.
 * @param usage - `status.usage_bytes` (0 when unknown).
 */
export function limitInView(dataTop: number, limit: number, usage = 0): boolean {
  return limit > 0 && (dataTop >= limit * LIMIT_IN_VIEW_SHARE || usage >= limit / 2);
}

/**
 * Add RSS, the limit and the soft threshold to a heap figure.
 *
 * @param figure - the heap chart's figure (its data array is extended, its layout replaced).
 * @param runs - the runs drawn, run i at x = i.
 * @param slots - how many slots the x axis has (runs, plus the running cell).
 * @param status - the kernel's status (its `memory_limit` and `guard`).
 * @param colours - concrete colours.
 * @param scale - the y scale of the figure.
 * @param live - the running cell's RSS readings, drawn in its slot.
 * @returns the figure.
 */
export function addGuardTraces<F extends { data: Data[]; layout: Partial<Layout> }>(
  figure: F,
  runs: ReadonlyArray<ICellRun>,
  slots: number,
  status: IProfilerStatus | null,
  colours: IGuardColours = FALLBACK_GUARD_COLOURS,
  scale: ScaleMode = 'linear',
  live: ILiveRss | null = null
): F {
  const rss = rssLine(runs, live);
  const limit = status?.memory_limit ?? null;
  const soft = status?.guard && status.guard.on && limit ? status.guard.soft * limit.bytes : null;
  const layout = { ...figure.layout };
  const yaxis = { ...(layout.yaxis ?? {}) } as Partial<Layout['yaxis']> & { range?: [number, number] };
  const range = yaxis.range;
  const clip = scale === 'clip' && (layout.annotations ?? []).length > 0;

  // The highest value now on the y axis, read back from the figure's range.
  let dataTop = 0;
  let bottom = Infinity;
  if (range) {
    if (scale === 'log') {
      dataTop = Math.pow(10, range[1] - 0.05);
      bottom = Math.pow(10, range[0] + 0.05);
    } else {
      dataTop = range[1] / 1.08;
    }
  }
  const clipTop = clip ? dataTop : Infinity;
  const clamp = (v: number | null) => (v === null ? null : Math.min(v, clipTop));
  let top = clip ? dataTop : Math.max(dataTop, rss.top);
  const showLimit = limit !== null && !clip && limitInView(top, limit.bytes, status?.usage_bytes ?? 0);
  if (showLimit) {
    top = Math.max(top, limit!.bytes);
  }
  const span: [number, number] = [-0.5, Math.max(slots, 1) - 0.5];
  const legendOnly = { x: [-1], y: [1] };

  figure.data.push({
    type: 'scatter',
    name: GUARD_TRACE_NAMES.rss,
    mode: 'lines',
    x: rss.count > 0 ? rss.x : legendOnly.x,
    y: rss.count > 0 ? rss.y.map(clamp) : legendOnly.y,
    visible: rss.count > 0 ? true : 'legendonly',
    hoverinfo: 'skip',
    line: { color: colours.rss, width: 1.5, dash: 'dash' }
  } as Data);
  if (limit) {
    figure.data.push({
      type: 'scatter',
      name: GUARD_TRACE_NAMES.limit,
      mode: 'lines',
      x: showLimit ? span : legendOnly.x,
      y: showLimit ? [limit.bytes, limit.bytes] : legendOnly.y,
      visible: showLimit ? true : 'legendonly',
      hovertext: [`limit ${limitText(limit)}`, `limit ${limitText(limit)}`],
      hovertemplate: '%{hovertext}<extra></extra>',
      line: { color: colours.limit, width: 1.5, dash: 'dash' }
    } as Data);
  }
  if (showLimit && soft !== null) {
    const words = `soft threshold ${percentText(status!.guard!.soft)}: ${formatBytes(soft)}`;
    figure.data.push({
      type: 'scatter',
      name: GUARD_TRACE_NAMES.soft,
      mode: 'lines',
      x: span,
      y: [soft, soft],
      // In the legend, after the limit: a dotted line nobody named was read as a second limit.
      hovertext: [words, words],
      hovertemplate: '%{hovertext}<extra></extra>',
      line: { color: colours.soft, width: 1, dash: 'dot' }
    } as Data);
  }

  if (scale === 'log') {
    if (top > dataTop) {
      const lo = Number.isFinite(bottom) ? bottom : 1;
      Object.assign(yaxis, logByteTicks(lo, top), {
        range: [Math.log10(lo) - 0.05, Math.log10(top > 0 ? top : 10) + 0.05]
      });
    }
  } else if (!clip && top > dataTop) {
    Object.assign(yaxis, byteTicks(top), { range: [0, top * 1.08] });
  }
  layout.yaxis = yaxis;
  // Not with outliers clipped: that scale has its own note at the top, and the limit is above it anyway.
  if (limit && !showLimit && !clip) {
    const note: Partial<Annotation> = {
      xref: 'paper',
      yref: 'paper',
      x: 0,
      y: 1,
      xanchor: 'left',
      yanchor: 'top',
      showarrow: false,
      // Short enough for the 250 px panel; the source is in the hover text and the status line above.
      text: `limit ${formatBytes(limit.bytes)} ↑`,
      hovertext: `limit ${limitText(limit)}, above the heap drawn`,
      font: { size: 10, color: colours.foreground },
      bgcolor: colours.background
    };
    layout.annotations = [...(layout.annotations ?? []), note];
  }
  layout.datarevision = `${String(layout.datarevision ?? '')}:rss${rss.count}:${rss.top}:lim${limit?.bytes ?? 0}:${soft ?? 0}:${showLimit}`;
  return { ...figure, layout };
}
