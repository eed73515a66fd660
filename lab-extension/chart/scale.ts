/**
 * The heap chart's y scales: linear from 0, logarithmic, or linear with outliers clipped. Pure.
 */
import { formatBytes } from '../format/bytes';

/**
 * How the y axis is scaled: linear from 0, logarithmic, or linear up to the bulk of the values
 * with the few far above drawn at the top edge ("clip outliers").
 */
export type ScaleMode = 'linear' | 'log' | 'clip';

/**
 * The scale modes, in the order the chart offers them.
 */
export const SCALE_MODES: ReadonlyArray<ScaleMode> = ['linear', 'log', 'clip'];

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
 * Y-axis ticks for a logarithmic byte axis: the powers of ten from below `bottom` to above `top`
 * (with 2× and 5× between them when the axis spans at most two decades).
 *
 * @param bottom - the smallest positive value on the axis.
 * @param top - the largest value.
 */
export function logByteTicks(
  bottom: number,
  top: number
): { tickmode: 'array'; tickvals: number[]; ticktext: string[] } {
  const lo = Number.isFinite(bottom) && bottom > 0 ? bottom : 1;
  const hi = Number.isFinite(top) && top > lo ? top : lo * 10;
  const first = Math.floor(Math.log10(lo));
  const last = Math.ceil(Math.log10(hi));
  const multiples = last - first <= 2 ? [1, 2, 5] : [1];
  const tickvals: number[] = [];
  for (let e = first; e <= last; e++) {
    for (const m of multiples) {
      const v = m * Math.pow(10, e);
      if (v >= Math.pow(10, first) && v <= Math.pow(10, last)) {
        tickvals.push(v);
      }
    }
  }
  return { tickmode: 'array', tickvals, ticktext: tickvals.map(formatBytes) };
}

/**
 * Where a "clip outliers" axis ends: above the bulk of the values, below the few far above it.
 *
 * @param values - the values drawn (the runs' peaks).
 * @returns `top`, the largest value kept in view, and how many values lie above it. Values more
 *   than 3 times the 90th percentile (and above 1 kB) are outliers; without outliers `top` is the
 *   largest value and `clipped` is 0.
 */
export function clipTop(values: ReadonlyArray<number>): { top: number; clipped: number } {
  const finite = values.filter(v => Number.isFinite(v));
  if (finite.length === 0) {
    return { top: 0, clipped: 0 };
  }
  const sorted = finite.slice().sort((a, b) => a - b);
  const max = sorted[sorted.length - 1];
  const p90 = sorted[Math.min(sorted.length - 1, Math.floor(0.9 * (sorted.length - 1)))];
  const limit = Math.max(3 * p90, 1000);
  if (max <= limit) {
    return { top: max, clipped: 0 };
  }
  let kept = 0;
  let clipped = 0;
  for (const v of sorted) {
    if (v <= limit) {
      kept = v;
    } else {
      clipped++;
    }
  }
  return { top: kept, clipped };
}

/**
 * Values limited to `top` (what a clipped axis draws; hover texts keep the real figures).
 *
 * @param values - the values.
 * @param top - the limit.
 */
export function clampTo(values: ReadonlyArray<number>, top: number): number[] {
  return values.map(v => (v > top ? top : v));
}
