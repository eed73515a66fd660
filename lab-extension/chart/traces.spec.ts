import { buildHeapFigure, byteTicks, escapePlotlyText, IHeapChartState } from './traces';
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
      source: '\n  y = bytes(10**9); del y  ',
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

describe('buildHeapFigure', () => {
  it('puts one peak marker per run first, with the exact figures', () => {
    const { data } = buildHeapFigure(STATE, THEME);
    const peak = data[0] as any;
    expect(peak.name).toBe('Peak');
    expect(peak.mode).toBe('markers');
    expect(peak.x).toEqual([0, 1, 2]);
    expect(peak.y).toEqual([250_000_000, 1_250_000_000, 250_001_000]);
    expect(peak.customdata).toEqual(['alloc', 'temp', '']);
    expect(peak.marker.color).toBe('#ff0000');
  });

  it('draws the heap through start, peak and end of every run', () => {
    const heap = buildHeapFigure(STATE, THEME).data[1] as any;
    expect(heap.name).toBe('Heap');
    expect(heap.mode).toBe('lines');
    expect(heap.x).toEqual([-0.3, 0, 0.3, 0.7, 1, 1.3, 1.7, 2, 2.3]);
    expect(heap.y).toEqual([
      50_000_000, 250_000_000, 250_000_000, 250_000_000, 1_250_000_000, 250_001_000, 250_001_000, 250_001_000,
      50_001_000
    ]);
    expect(heap.line.color).toBe('#00ff00');
  });

  it('writes the figures and first source line into the hover text', () => {
    const peak = buildHeapFigure(STATE, THEME).data[0] as any;
    expect(peak.hovertext).toEqual([
      '[1] x = bytearray(200_000_0…<br>net +200 MB · peak +200 MB<br>start 50 MB<br>peak 250 MB<br>end 250 MB',
      '[2] y = bytes(10**9); del y<br>net +1 kB · peak +1 GB<br>start 250 MB<br>peak 1.25 GB<br>end 250 MB' +
        '<br>raised an error',
      '[?] del x<br>net -200 MB · peak +0 B<br>start 250 MB<br>peak 250 MB<br>end 50 MB'
    ]);
  });

  it('labels the x axis with execution counts and marks the boundaries', () => {
    const { layout } = buildHeapFigure(STATE, THEME);
    expect(layout.xaxis!.tickvals).toEqual([0, 1, 2]);
    expect(layout.xaxis!.ticktext).toEqual(['[1]', '[2]', '[?]']);
    expect(layout.xaxis!.range).toEqual([-0.5, 2.5]);
    expect(layout.shapes!.map(s => s.x0)).toEqual([0.5, 1.5]);
    expect(layout.shapes!.every(s => (s.line as any).color === '#cccccc')).toBe(true);
  });

  it('labels at most ten runs on the x axis', () => {
    const cells = Array.from({ length: 25 }, (_, i) => cellPayload({ execution_count: i + 1, seq: i + 1 }));
    const { layout } = buildHeapFigure({ cells, running: null }, THEME);
    expect(layout.xaxis!.tickvals).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24]);
    expect(layout.xaxis!.ticktext).toEqual(['[1]', '[4]', '[7]', '[10]', '[13]', '[16]', '[19]', '[22]', '[25]']);
    expect(layout.shapes).toHaveLength(24);
  });

  it('uses concrete theme colours, never CSS variables', () => {
    const { layout } = buildHeapFigure(STATE, THEME);
    expect(layout.paper_bgcolor).toBe(FALLBACK_THEME.background);
    expect(layout.font!.color).toBe(FALLBACK_THEME.foreground);
    expect(JSON.stringify(buildHeapFigure(STATE, THEME))).not.toContain('var(');
  });

  it('adds the running cell at the next slot', () => {
    const running = cellStartPayload({ cell_id: 'next', execution_count: 4, start_bytes: 50_001_000 });
    const { data, layout } = buildHeapFigure({ ...STATE, running }, THEME);
    expect(data).toHaveLength(3);
    const trace = data[2] as any;
    expect(trace.name).toBe('Running');
    expect(trace.x).toEqual([3]);
    expect(trace.y).toEqual([50_001_000]);
    expect(trace.hovertext).toEqual(['[4] running<br>net +0 B<br>start 50 MB<br>now 50 MB']);
    expect(layout.xaxis!.ticktext).toEqual(['[1]', '[2]', '[?]', '[4]']);
    expect(layout.shapes).toHaveLength(3);
  });

  it('puts the running cell at its last live tick', () => {
    const running = cellStartPayload({ execution_count: 4, start_bytes: 50_001_000 });
    const ticks = [
      [1, 60_000_000],
      [2, 90_001_000]
    ] as const;
    const { data } = buildHeapFigure({ ...STATE, running, ticks: [...ticks] }, THEME);
    const trace = data[3] as any;
    expect(trace.name).toBe('Running');
    expect(trace.y).toEqual([90_001_000]);
    expect(trace.hovertext).toEqual(['[4] running<br>net +40 MB<br>start 50 MB<br>now 90 MB']);
  });

  it('builds empty traces for an empty model', () => {
    const { data, layout } = buildHeapFigure({ cells: [], running: null }, THEME);
    expect(data).toHaveLength(2);
    expect((data[0] as any).x).toEqual([]);
    expect(layout.shapes).toEqual([]);
    expect(layout.xaxis!.range).toEqual([-0.5, 0.5]);
  });

  it('shows kernel strings as text, never as markup, and shortens long lines', () => {
    const source = '<img src=x onerror=alert(1)>"</script>"' + 'x'.repeat(100);
    const state = { cells: [cellPayload({ source })], running: null };
    const hover: string = (buildHeapFigure(state, THEME).data[0] as any).hovertext[0];
    expect(hover).not.toContain('<img');
    expect(hover).not.toContain('</script>');
    // 23 characters of the line, then an ellipsis, each markup character as an entity.
    expect(hover.split('<br>')[0]).toBe('[3] &lt;img src=x onerror=aler…');
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
