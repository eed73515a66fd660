import { buildIcicleFigure } from './icicle';
import { FALLBACK_THEME } from './theme';
import { buildHeapFigure, liveLine, MAX_LIVE_POINTS } from './traces';
import { cellStartPayload, PAYLOADS, sitePayload } from '../testing/fixtures';

describe('buildIcicleFigure', () => {
  const outer = { file: '/x/a.py', line: 1, function: 'main', cell_id: 'c', cell_line: 1, execution_count: 3 };
  const mid = { file: '/x/lib.py', line: 10, function: 'load', cell_id: null, cell_line: null };
  const innerA = { file: '/x/np.py', line: 5, function: 'ones', cell_id: null, cell_line: null };
  const innerB = { file: '/x/np.py', line: 9, function: 'zeros', cell_id: null, cell_line: null };

  it('builds the tree of the stacks, outermost frame first, sizes summed', () => {
    const sites = [
      sitePayload({ ...innerA, bytes: 300, stack: [innerA, mid, outer] }),
      sitePayload({ ...innerB, bytes: 100, stack: [innerB, mid, outer] }),
      sitePayload({ ...outer, bytes: 50, stack: [outer] })
    ];
    const trace = buildIcicleFigure(sites, '[3]', FALLBACK_THEME).data[0] as any;
    expect(trace.type).toBe('icicle');
    expect(trace.branchvalues).toBe('total');
    expect(trace.values).toEqual([450, 450, 400, 300, 100]);
    expect(trace.parents).toEqual(['', 'root', 'n1', 'n2', 'n2']);
    expect(trace.labels.slice(1)).toEqual([
      'main · cell [3] line 1',
      'load · /x/lib.py:10',
      'ones · /x/np.py:5',
      'zeros · /x/np.py:9'
    ]);
    expect(trace.text[0]).toBe('450 B');
  });

  it('escapes kernel strings in labels and hover text and keeps them out of ids', () => {
    const sites = PAYLOADS.map(p => sitePayload({ file: p, function: p, cell_id: null, cell_line: null, stack: [] }));
    const trace = buildIcicleFigure(sites, PAYLOADS[0], FALLBACK_THEME).data[0] as any;
    const text = JSON.stringify([trace.labels, trace.hovertext]);
    expect(text).not.toContain('<img');
    expect(text).not.toContain('</script');
    expect(trace.ids.every((id: string) => /^(root|n\d+)$/.test(id))).toBe(true);
  });

  it('takes every colour from the theme, leaves at full opacity', () => {
    const theme = { ...FALLBACK_THEME, heap: '#102030', onHeap: '#fefdfc', grid: '#abcdef', foreground: '#010203' };
    const sites = [sitePayload({ ...innerA, bytes: 300, stack: [innerA, outer] })];
    const trace = buildIcicleFigure(sites, '[3]', theme).data[0] as any;
    expect(trace.marker.colors).toEqual([theme.grid, ...trace.ids.slice(1).map(() => theme.heap)]);
    expect(trace.insidetextfont.color).toEqual([theme.foreground, ...trace.ids.slice(1).map(() => theme.onHeap)]);
    expect(trace.leaf.opacity).toBe(1);
  });
});

describe('the live line', () => {
  const running = cellStartPayload({ started_at: 100, start_bytes: 10 });

  it('spreads the ticks over the running slot by time, from the cell’s start', () => {
    const line = liveLine(
      running,
      [
        [101, 20],
        [102, 40]
      ],
      3
    );
    [2.7, 3.0, 3.3].forEach((x, i) => expect(line.x[i]).toBeCloseTo(x));
    expect(line.y).toEqual([10, 20, 40]);
  });

  it('draws a bounded number of points, the newest always included', () => {
    const ticks = Array.from({ length: 10_000 }, (_, i) => [100 + i / 100, i] as [number, number]);
    const line = liveLine(running, ticks, 0);
    expect(line.x.length).toBeLessThanOrEqual(MAX_LIVE_POINTS + 1);
    expect(line.y[line.y.length - 1]).toBe(9_999);
    expect(line.x[line.x.length - 1]).toBeCloseTo(0.3);
  });

  it('is drawn while a cell runs with ticks', () => {
    const figure = buildHeapFigure({ cells: [], running, ticks: [[101, 20]] }, FALLBACK_THEME);
    const live = figure.data.find((t: any) => t.name === 'live') as any;
    expect(live.y).toEqual([10, 20]);
  });
});
