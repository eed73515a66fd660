import type { Data } from 'plotly.js-dist-min';

import { buildHeapFigure } from '../chart/traces';
import { FALLBACK_THEME } from '../chart/theme';
import { cellPayload, statusPayload } from '../testing/fixtures';
import { addGuardTraces, GUARD_TRACE_NAMES, limitInView, rssLine } from './chartTraces';

const MB = 1_000_000;

function runs() {
  return [
    cellPayload({
      seq: 1,
      start_bytes: 100 * MB,
      peak_bytes: 300 * MB,
      end_bytes: 200 * MB,
      rss_start_bytes: 150 * MB,
      rss_peak_bytes: 360 * MB,
      rss_end_bytes: 330 * MB
    }),
    cellPayload({ seq: 2, start_bytes: 200 * MB, peak_bytes: 210 * MB, end_bytes: 200 * MB }),
    cellPayload({
      seq: 3,
      start_bytes: 200 * MB,
      peak_bytes: 500 * MB,
      end_bytes: 500 * MB,
      rss_start_bytes: 330 * MB,
      rss_peak_bytes: 560 * MB,
      rss_end_bytes: 550 * MB
    })
  ];
}

function trace(data: Data[], name: string): any {
  return data.find(d => (d as { name?: string }).name === name);
}

describe('rssLine', () => {
  it('draws start, peak, end of each run with RSS and breaks around runs without', () => {
    const line = rssLine(runs());
    expect(line.x).toEqual([-0.3, 0, 0.3, null, 1.7, 2, 2.3]);
    expect(line.y).toEqual([150 * MB, 360 * MB, 330 * MB, null, 330 * MB, 560 * MB, 550 * MB]);
    expect(line.top).toBe(560 * MB);
    expect(line.count).toBe(2);
  });
});

describe('rssLine with a running cell', () => {
  it('spreads the running cell’s RSS readings over its slot, after a break', () => {
    const running = { seq: 9, cell_id: 'r', execution_count: 9, started_at: 100, start_bytes: 100 * MB };
    const rss: Array<[number, number]> = [
      [100, 600 * MB],
      [101, 650 * MB],
      [102, 700 * MB]
    ];
    const line = rssLine(runs(), { running, rss });
    const slot = runs().length;
    const live = line.x.slice(line.x.lastIndexOf(null) + 1) as number[];
    expect(live).toHaveLength(3);
    expect(live[0]).toBeCloseTo(slot - 0.3); // the first reading, at the cell's start
    expect(live[2]).toBeCloseTo(slot + 0.3);
    expect(line.y.slice(-3)).toEqual([600 * MB, 650 * MB, 700 * MB]);
    expect(line.top).toBe(700 * MB);
    // Without finished RSS figures, the live readings alone make the line.
    const only = rssLine([], { running, rss });
    expect(only.x[0]).toBeCloseTo(-0.3);
    expect(only.count).toBe(3);
  });
});

describe('addGuardTraces', () => {
  const build = (status: ReturnType<typeof statusPayload> | null, scale: 'linear' | 'log' | 'clip' = 'linear') => {
    const cells = runs();
    const figure = buildHeapFigure({ cells, running: null }, FALLBACK_THEME, { scale });
    return addGuardTraces(figure, cells, cells.length, status, undefined, scale);
  };

  it('adds RSS as its own legend entry and stretches the y axis to it', () => {
    const figure = build(statusPayload());
    const rss = trace(figure.data, GUARD_TRACE_NAMES.rss);
    expect(rss.visible).toBe(true);
    expect(rss.showlegend).not.toBe(false);
    expect(rss.y).toContain(560 * MB);
    expect((figure.layout.yaxis as any).range[1]).toBeGreaterThanOrEqual(560 * MB);
    // No limit known: no limit trace and no note.
    expect(trace(figure.data, GUARD_TRACE_NAMES.limit)).toBeUndefined();
    expect(figure.layout.annotations ?? []).toEqual([]);
  });

  it('draws the limit and the soft threshold as lines when the data reaches a third of it', () => {
    const status = statusPayload({
      memory_limit: { bytes: 629_145_600, source: 'cgroup_v1' },
      guard: { on: true, hard: 0.95, soft: 0.8 }
    });
    const figure = build(status);
    const limit = trace(figure.data, GUARD_TRACE_NAMES.limit);
    expect(limit.visible).toBe(true);
    expect(limit.y).toEqual([629_145_600, 629_145_600]);
    expect(limit.x).toEqual([-0.5, 2.5]);
    const soft = trace(figure.data, GUARD_TRACE_NAMES.soft);
    expect(soft.y[0]).toBeCloseTo(0.8 * 629_145_600);
    expect(soft.showlegend).not.toBe(false); // named in the legend, after the limit
    const names = figure.data.map(t => (t as { name?: string }).name);
    expect(names.indexOf(GUARD_TRACE_NAMES.soft)).toBe(names.indexOf(GUARD_TRACE_NAMES.limit) + 1);
    expect((figure.layout.yaxis as any).range[1]).toBeGreaterThan(629_145_600);
    expect(String(figure.layout.datarevision)).toContain('lim629145600');
  });

  it('leaves a far limit out of the plot and says where it is', () => {
    const status = statusPayload({
      memory_limit: { bytes: 16_000_000_000, source: 'cgroup' },
      guard: { on: true, hard: 0.95, soft: 0.8 }
    });
    const figure = build(status);
    expect(limitInView(560 * MB, 16e9)).toBe(false);
    expect(trace(figure.data, GUARD_TRACE_NAMES.limit).visible).toBe('legendonly');
    expect(trace(figure.data, GUARD_TRACE_NAMES.soft)).toBeUndefined();
    expect((figure.layout.yaxis as any).range[1]).toBeLessThan(1e9);
    expect(figure.layout.annotations!.map(a => a.text)).toEqual(['limit 16 GB ↑']);
    expect(figure.layout.annotations![0].hovertext).toBe('limit 16 GB (cgroup), above the heap drawn');
    // Clipped outliers keep their own note only.
    const cells = Array.from({ length: 10 }, (_, i) =>
      cellPayload({ seq: i + 1, start_bytes: 1e8, peak_bytes: i === 5 ? 9e9 : 1.1e8, end_bytes: 1e8 })
    );
    const clipped = addGuardTraces(
      buildHeapFigure({ cells, running: null }, FALLBACK_THEME, { scale: 'clip' }),
      cells,
      cells.length,
      status,
      undefined,
      'clip'
    );
    const notes = (clipped.layout.annotations ?? []).map(a => String(a.text));
    expect(notes.some(t => t.includes('clipped'))).toBe(true);
    expect(notes.filter(t => t.startsWith('limit'))).toEqual([]);
  });

  it('keeps RSS greyed in the legend when no run has RSS, and works on a log axis', () => {
    const cells = [cellPayload({ seq: 1 })];
    const figure = addGuardTraces(buildHeapFigure({ cells, running: null }, FALLBACK_THEME), cells, 1, null);
    expect(trace(figure.data, GUARD_TRACE_NAMES.rss).visible).toBe('legendonly');
    const log = build(statusPayload({ memory_limit: { bytes: 629_145_600, source: 'cgroup_v1' } }), 'log');
    const range = (log.layout.yaxis as any).range as [number, number];
    expect(Math.pow(10, range[1])).toBeGreaterThan(629_145_600);
  });
});

describe('limitInView', () => {
  it('shows the limit when the heap reaches a third of it, or the usage half of it', () => {
    expect(limitInView(100, 900)).toBe(false);
    expect(limitInView(300, 900)).toBe(true);
    expect(limitInView(100, 900, 450)).toBe(true);
    expect(limitInView(100, 900, 449)).toBe(false);
    expect(limitInView(100, 0, 100)).toBe(false);
  });
});
