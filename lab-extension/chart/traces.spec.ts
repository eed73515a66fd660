import {
  buildHeapFigure,
  BOUNDARY_MAX_SLOTS,
  byteTicks,
  escapePlotlyText,
  IHeapChartState,
  RANGE_SLIDER_MAX_SLOTS,
  RANGE_SLIDER_SLOTS,
  TRACE_INDEX,
  X_TITLE,
  Y_TITLE
} from './traces';
import { HeapSeries } from './series';
import { FALLBACK_THEME } from './theme';
import { cellPayload, cellStartPayload } from '../testing/fixtures';

/** Three runs: allocate 200 MB, a temporary 1 GB, then free the 200 MB. */
const STATE: IHeapChartState = {
  cells: [
    cellPayload({
      cell_id: 'alloc',
      execution_count: 1,
      source: 'x = bytearray(200_000_000)',
      start_bytes: 50_000_000,
      peak_bytes: 250_000_000,
      end_bytes: 250_000_000
    }),
    cellPayload({
      cell_id: 'temp',
      execution_count: 2,
      source: '\n  # a temporary\n  y = bytes(10**9); del y  ',
      start_bytes: 250_000_000,
      peak_bytes: 1_250_000_000,
      end_bytes: 250_001_000,
      status: 'error'
    }),
    cellPayload({
      cell_id: null,
      execution_count: null,
      source: 'del x',
      start_bytes: 250_001_000,
      peak_bytes: 250_001_000,
      end_bytes: 50_001_000
    })
  ],
  running: null
};

const THEME = { ...FALLBACK_THEME, peak: '#ff0000', heap: '#00ff00', grid: '#cccccc' };

/** A trace of a figure by its name. */
function trace(figure: { data: unknown[] }, name: string): any {
  return figure.data.find((t: any) => t.name === name);
}

describe('buildHeapFigure', () => {
  it('puts one peak marker per run first, with the exact figures', () => {
    const { data } = buildHeapFigure(STATE, THEME);
    const peak = data[TRACE_INDEX.peak] as any;
    expect(TRACE_INDEX.peak).toBe(0);
    expect(peak.name).toBe('peak');
    expect(peak.mode).toBe('markers');
    expect(peak.x).toEqual([0, 1, 2]);
    expect(peak.y).toEqual([250_000_000, 1_250_000_000, 250_001_000]);
    expect(peak.customdata).toEqual(['alloc', 'temp', '']);
    expect(peak.marker.color).toBe('#ff0000');
  });

  it('draws the heap through start, peak and end of every run, with start and end markers', () => {
    const figure = buildHeapFigure(STATE, THEME);
    const heap = trace(figure, 'heap');
    expect(heap.mode).toBe('lines');
    expect(heap.showlegend).toBe(false);
    expect(heap.x).toEqual([-0.3, 0, 0.3, 0.7, 1, 1.3, 1.7, 2, 2.3]);
    expect(heap.y).toEqual([
      50_000_000, 250_000_000, 250_000_000, 250_000_000, 1_250_000_000, 250_001_000, 250_001_000, 250_001_000,
      50_001_000
    ]);
    expect(heap.line.color).toBe('#00ff00');
    expect(trace(figure, 'start').y).toEqual([50_000_000, 250_000_000, 250_001_000]);
    expect(trace(figure, 'start').x).toEqual([-0.3, 0.7, 1.7]);
    expect(trace(figure, 'end').y).toEqual([250_000_000, 250_001_000, 50_001_000]);
  });

  it('has a legend of start, peak, end and live, axis titles with units', () => {
    const figure = buildHeapFigure(STATE, THEME);
    expect(figure.layout.showlegend).toBe(true);
    const legend = figure.data.filter((t: any) => t.showlegend !== false).map((t: any) => t.name);
    expect(legend.sort()).toEqual(['end', 'live', 'peak', 'start']);
    expect((figure.layout.yaxis!.title as any).text).toBe(Y_TITLE);
    expect(Y_TITLE).toContain('bytes');
    expect((figure.layout.xaxis!.title as any).text).toBe(X_TITLE);
  });

  it('writes the label, the figures and how the run ended into the hover text', () => {
    const peak = buildHeapFigure(STATE, THEME).data[0] as any;
    expect(peak.hovertext).toEqual([
      '[1] x = bytearray(…)<br>net +200 MB · peak +200 MB<br>start 50 MB<br>peak 250 MB<br>end 250 MB',
      '[2] y = bytes(…)<br>net +1 kB · peak +1 GB<br>start 250 MB<br>peak 1.25 GB<br>end 250 MB' +
        '<br>raised an error',
      '[?] del x<br>net -200 MB · peak +0 B<br>start 250 MB<br>peak 250 MB<br>end 50 MB'
    ]);
  });

  it('labels the x axis with execution count and code, and draws boundaries as one path', () => {
    const figure = buildHeapFigure(STATE, THEME, { plotWidth: 600 });
    expect(figure.layout.xaxis!.tickvals).toEqual([0, 1, 2]);
    expect(figure.layout.xaxis!.ticktext).toEqual(['[1]<br>x = bytearray(…)', '[2]<br>y = bytes(…)', '[?]<br>del x']);
    expect(figure.layout.xaxis!.range).toEqual([-0.5, 2.5]);
    expect(figure.layout.shapes).toBeUndefined();
    const boundaries = trace(figure, 'boundaries');
    expect(boundaries.x).toEqual([0.5, 0.5, null, 1.5, 1.5, null, 2.5, 2.5, null]);
    expect(boundaries.yaxis).toBe('y2');
    expect(boundaries.visible).toBe(true);
    expect(boundaries.line.color).toBe('#cccccc');
  });

  it('thins the labels at 500 runs, hides the boundaries and start/end markers', () => {
    const cells = Array.from({ length: 500 }, (_, i) => cellPayload({ execution_count: i + 1, seq: i + 1 }));
    const narrow = buildHeapFigure({ cells, running: null }, THEME, { plotWidth: 170 });
    expect(narrow.layout.xaxis!.tickvals!.length).toBeLessThanOrEqual(5);
    expect((narrow.layout.xaxis!.ticktext as string[]).every(t => /^\[\d+\]$/.test(t))).toBe(true);
    expect(trace(narrow, 'boundaries').visible).toBe(false);
    expect(trace(narrow, 'start').visible).toBe('legendonly');
    expect(trace(narrow, 'end').visible).toBe('legendonly');
    expect(trace(narrow, 'heap').x).toHaveLength(1500);
    // Zoom by dragging: a range slider would draw every trace twice.
    expect((narrow.layout.xaxis!.rangeslider as any).visible).toBe(false);
    expect(narrow.layout.xaxis!.fixedrange).toBe(false);
    expect(narrow.layout.dragmode).toBe('zoom');
    expect(500).toBeGreaterThan(BOUNDARY_MAX_SLOTS);
    // Zoomed on five runs: their code is shown.
    const zoomed = buildHeapFigure({ cells, running: null }, THEME, { plotWidth: 700, view: [99.5, 104.5] });
    expect(zoomed.layout.xaxis!.tickvals).toEqual([100, 101, 102, 103, 104]);
    expect(zoomed.layout.xaxis!.ticktext![0]).toBe('[101]<br>x = bytearray(…)');
  });

  it('has a range slider from 30 to 150 runs only', () => {
    const figure = buildHeapFigure(STATE, THEME);
    expect((figure.layout.xaxis!.rangeslider as any).visible).toBe(false);
    expect(STATE.cells.length).toBeLessThan(RANGE_SLIDER_SLOTS);
    const cells = (n: number) => Array.from({ length: n }, (_, i) => cellPayload({ execution_count: i + 1, seq: i }));
    const slider = (n: number) =>
      (buildHeapFigure({ cells: cells(n), running: null }, THEME).layout.xaxis!.rangeslider as any).visible;
    expect([29, 30, 150, 151].map(slider)).toEqual([false, true, true, false]);
    expect(RANGE_SLIDER_MAX_SLOTS).toBe(150);
    // Not while runs arrive in a burst (the widget says so).
    const held = buildHeapFigure({ cells: cells(40), running: null }, THEME, { rangeSlider: false });
    expect((held.layout.xaxis!.rangeslider as any).visible).toBe(false);
  });

  it('uses concrete theme colours, never CSS variables', () => {
    const { layout } = buildHeapFigure(STATE, THEME);
    expect(layout.paper_bgcolor).toBe(FALLBACK_THEME.background);
    expect(layout.font!.color).toBe(FALLBACK_THEME.foreground);
    expect(JSON.stringify(buildHeapFigure(STATE, THEME))).not.toContain('var(');
  });

  it('adds the running cell at the next slot', () => {
    const running = cellStartPayload({ cell_id: 'next', execution_count: 4, start_bytes: 50_001_000 });
    const figure = buildHeapFigure({ ...STATE, running }, THEME, { plotWidth: 600 });
    const run = trace(figure, 'running');
    expect(run.x).toEqual([3]);
    expect(run.y).toEqual([50_001_000]);
    expect(run.hovertext).toEqual(['[4] · running<br>net +0 B<br>start 50 MB<br>now 50 MB']);
    expect(figure.layout.xaxis!.ticktext![3]).toBe('[4]');
    expect(figure.layout.xaxis!.range).toEqual([-0.5, 3.5]);
  });

  it('puts the running cell at its last live tick', () => {
    const running = cellStartPayload({ execution_count: 4, start_bytes: 50_001_000 });
    const ticks = [
      [1, 60_000_000],
      [2, 90_001_000]
    ] as const;
    const figure = buildHeapFigure({ ...STATE, running, ticks: [...ticks] }, THEME);
    const run = trace(figure, 'running');
    expect(run.y).toEqual([90_001_000]);
    expect(run.hovertext).toEqual(['[4] · running<br>net +40 MB<br>start 50 MB<br>now 90 MB']);
  });

  it('builds empty traces for an empty model, the same traces in the same order', () => {
    const { data, layout } = buildHeapFigure({ cells: [], running: null }, THEME);
    expect(data.map((t: any) => t.name)).toEqual([
      'peak',
      'heap',
      'start',
      'end',
      'boundaries',
      'live',
      'running',
      'now'
    ]);
    expect((data[0] as any).x).toEqual([]);
    expect((data[5] as any).visible).toBe('legendonly');
    expect(layout.xaxis!.range).toEqual([-0.5, 0.5]);
  });

  it('shows kernel strings as text, never as markup, and shortens long lines', () => {
    const source = '<img src=x onerror=alert(1)>"</script>"' + 'x'.repeat(100);
    const state = { cells: [cellPayload({ source })], running: null };
    const figure = buildHeapFigure(state, THEME, { plotWidth: 600 });
    const hover: string = (figure.data[0] as any).hovertext[0];
    expect(hover).not.toContain('<img');
    expect(hover).not.toContain('</script>');
    expect(hover.split('<br>')[0]).toBe('[3] &lt;img src=x onerror=al…');
    expect(figure.layout.xaxis!.ticktext![0]).not.toContain('<img');
  });

  it('draws on a log axis, with byte labels at powers of ten', () => {
    const figure = buildHeapFigure(STATE, THEME, { scale: 'log' });
    const yaxis = figure.layout.yaxis as any;
    expect(yaxis.type).toBe('log');
    expect(yaxis.ticktext).toContain('100 MB');
    expect(yaxis.ticktext).toContain('1 GB');
    expect(yaxis.range[0]).toBeLessThan(Math.log10(50_000_000));
    expect(yaxis.range[1]).toBeGreaterThan(Math.log10(1_250_000_000));
  });

  it('clips one far outlier so the other runs are not flattened, and says so', () => {
    const cells = Array.from({ length: 20 }, (_, i) =>
      cellPayload({ seq: i, start_bytes: 100e6, peak_bytes: i === 7 ? 12e9 : 100e6 + i * 1e6, end_bytes: 100e6 })
    );
    const linear = buildHeapFigure({ cells, running: null }, THEME);
    expect((linear.layout.yaxis as any).range[1]).toBeGreaterThan(12e9);
    const clipped = buildHeapFigure({ cells, running: null }, THEME, { scale: 'clip' });
    const top = (clipped.layout.yaxis as any).range[1];
    expect(top).toBeLessThan(200e6);
    expect(top).toBeGreaterThanOrEqual(119e6);
    expect((clipped.data[0] as any).y[7]).toBeLessThanOrEqual(top);
    // The hover keeps the real figure.
    expect((clipped.data[0] as any).hovertext[7]).toContain('peak 12 GB');
    expect(clipped.layout.annotations![0].text).toContain('1 above');
    expect(linear.layout.annotations).toEqual([]);
  });
});

describe('buildHeapFigure with kept arrays', () => {
  it('appends new runs to the same arrays and bumps the data revision', () => {
    const series = new HeapSeries();
    const cells = STATE.cells.slice(0, 2);
    const first = buildHeapFigure({ cells, running: null, cellsVersion: 1 }, THEME, { series });
    const peakX = (first.data[0] as any).x;
    const more = [...cells, STATE.cells[2]];
    const second = buildHeapFigure({ cells: more, running: null, cellsVersion: 1 }, THEME, { series });
    expect((second.data[0] as any).x).toBe(peakX);
    expect(peakX).toEqual([0, 1, 2]);
    expect(second.layout.datarevision).not.toEqual(first.layout.datarevision);
  });
});

describe('escapePlotlyText', () => {
  it('escapes the characters plotly reads as markup', () => {
    expect(escapePlotlyText('<b>a</b> & "c"')).toBe('&lt;b&gt;a&lt;/b&gt; &amp; "c"');
    expect(escapePlotlyText('plain')).toBe('plain');
  });
});

describe('byteTicks', () => {
  it('labels round steps from 0 past the top like every other figure', () => {
    const ticks = byteTicks(490e6);
    expect(ticks.tickvals[0]).toBe(0);
    expect(ticks.tickvals[ticks.tickvals.length - 1]).toBeGreaterThanOrEqual(490e6);
    expect(ticks.tickvals.length).toBeGreaterThanOrEqual(4);
    expect(ticks.tickvals.length).toBeLessThanOrEqual(8);
    const step = ticks.tickvals[1];
    ticks.tickvals.forEach((v, i) => expect(v).toBeCloseTo(i * step));
    expect(ticks.ticktext).toContain('500 MB');
    ticks.ticktext.forEach(t => expect(t).toMatch(/^\d+(\.\d+)? (B|kB|MB|GB|TB|PB)$/));
  });

  it('keeps whole bytes for an empty or tiny axis', () => {
    for (const top of [0, 1, 3, NaN]) {
      const ticks = byteTicks(top);
      expect(ticks.tickvals.every(Number.isInteger)).toBe(true);
      expect(ticks.ticktext[0]).toBe('0 B');
    }
  });

  it('is what the heap chart uses for its y axis', () => {
    const figure = buildHeapFigure(
      { cells: [cellPayload({ start_bytes: 0, peak_bytes: 3.2e9, end_bytes: 1e9 })], running: null },
      FALLBACK_THEME
    );
    const yaxis = figure.layout.yaxis as { ticktext: string[]; tickvals: number[] };
    expect(yaxis.ticktext).toContain('4 GB');
    expect(Math.max(...yaxis.tickvals)).toBeGreaterThanOrEqual(3.2e9);
  });
});
