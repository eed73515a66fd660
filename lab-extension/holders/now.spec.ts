import { cellPayload, cellStartPayload, statusPayload } from '../testing/fixtures';
import { buildHeapFigure, TRACE_NAMES } from '../chart/traces';
import { FALLBACK_THEME } from '../chart/theme';
import { heapNowAfterLastRun, heapNowHover } from './now';

describe('heapNowAfterLastRun', () => {
  const cells = [cellPayload({ seq: 1, end_bytes: 252_428_800 })];

  it('is the status’s heap when it moved away from the last run’s end', () => {
    expect(heapNowAfterLastRun({ cells, running: null, status: statusPayload({ current_bytes: 152_000_000 }) })).toBe(
      152_000_000
    );
  });

  it('is null for the agent’s small moves, while a cell runs, before any run or without profiling', () => {
    const status = statusPayload({ current_bytes: 252_428_800 + 900_000 });
    expect(heapNowAfterLastRun({ cells, running: null, status })).toBeNull();
    // 1 % of a 10 GB heap is 100 MB
    const big = [cellPayload({ end_bytes: 10e9 })];
    expect(
      heapNowAfterLastRun({ cells: big, running: null, status: statusPayload({ current_bytes: 10e9 - 50e6 }) })
    ).toBeNull();
    const moved = statusPayload({ current_bytes: 10 });
    expect(heapNowAfterLastRun({ cells, running: cellStartPayload(), status: moved })).toBeNull();
    expect(heapNowAfterLastRun({ cells: [], running: null, status: moved })).toBeNull();
    expect(heapNowAfterLastRun({ cells, running: null, status: null })).toBeNull();
    expect(heapNowAfterLastRun({ cells, running: null, status: { ...moved, active: false } })).toBeNull();
  });

  it('says the change in its hover text', () => {
    expect(heapNowHover(152_000_000, 252_000_000)).toBe(
      'heap now 152 MB<br>-100 MB since the last cell ended (252 MB)'
    );
  });
});

describe('the chart’s "now" marker', () => {
  const cells = [cellPayload({ seq: 1, end_bytes: 252_000_000 }), cellPayload({ seq: 2, end_bytes: 252_000_000 })];
  const trace = (figure: ReturnType<typeof buildHeapFigure>) =>
    figure.data.find(d => (d as { name?: string }).name === TRACE_NAMES.now) as
      { x: number[]; y: number[]; showlegend: boolean; hovertext: string[] } | undefined;

  it('draws the heap now next to the last run, with a line down from its end', () => {
    const figure = buildHeapFigure({ cells, running: null, now: 152_000_000 }, FALLBACK_THEME);
    const now = trace(figure)!;
    expect(now.x[0]).toBeCloseTo(1.3);
    expect(now.x[1]).toBeGreaterThan(1.3);
    expect(now.x[1]).toBeLessThan(1.5);
    expect(now.y).toEqual([252_000_000, 152_000_000]);
    expect(now.showlegend).toBe(false);
    expect(now.hovertext[1]).toMatch(/^heap now 152 MB/);
    expect(String(figure.layout.datarevision)).toContain('152000000');
  });

  it('draws nothing without a value or while a cell runs', () => {
    expect(trace(buildHeapFigure({ cells, running: null }, FALLBACK_THEME))!.x).toEqual([]);
    expect(trace(buildHeapFigure({ cells, running: cellStartPayload(), now: 5 }, FALLBACK_THEME))!.x).toEqual([]);
  });
});
