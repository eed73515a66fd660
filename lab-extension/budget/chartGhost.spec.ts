import { FALLBACK_THEME } from '../chart/theme';
import { buildHeapFigure, TRACE_INDEX } from '../chart/traces';
import { cellPayload } from '../testing/fixtures';
import { ghostFromReport, ghostTrace, liveCells, matchGhost } from './ghost';

describe('the ghost trace on the heap chart', () => {
  const runs = [
    cellPayload({ seq: 1, cell_id: 'a', source: 'a = 1', start_bytes: 10e6, peak_bytes: 20e6, end_bytes: 10e6 }),
    cellPayload({ seq: 2, cell_id: 'b', source: 'b = 2', start_bytes: 10e6, peak_bytes: 30e6, end_bytes: 20e6 })
  ];
  const ghost = ghostFromReport(
    {
      cells: [
        { ...cellPayload({ cell_id: 'a', source: 'a = 1', start_bytes: 0, peak_bytes: 5e6, end_bytes: 0 }), index: 0 },
        { ...cellPayload({ cell_id: 'b', source: 'b = 2', start_bytes: 0, peak_bytes: 90e6, end_bytes: 0 }), index: 1 }
      ]
    },
    'saved.json'
  );
  const trace = ghostTrace(
    runs,
    matchGhost(
      ghost,
      liveCells(['a', 'b'], id => runs.find(r => r.cell_id === id))
    ),
    ghost
  );

  it('comes last, named in the legend, dimmed and dotted; the other traces keep their places', () => {
    const figure = buildHeapFigure({ cells: runs, running: null, ghost: trace }, FALLBACK_THEME);
    const last = figure.data[figure.data.length - 1] as any;
    expect(last.name).toBe('saved report');
    expect(last.opacity).toBeLessThan(1);
    expect(last.line.dash).toBe('dot');
    expect(last.showlegend).not.toBe(false);
    expect((figure.data[TRACE_INDEX.peak] as any).name).toBe('peak');
    expect(last.y).toEqual([10e6, 15e6, 10e6, null, 10e6, 100e6, 10e6]);
  });

  it('widens the heap axis to the ghost and tells plotly its data changed', () => {
    const without = buildHeapFigure({ cells: runs, running: null }, FALLBACK_THEME);
    const withGhost = buildHeapFigure({ cells: runs, running: null, ghost: trace }, FALLBACK_THEME);
    expect((without.layout.yaxis as any).range[1]).toBeLessThan(100e6);
    expect((withGhost.layout.yaxis as any).range[1]).toBeGreaterThanOrEqual(100e6);
    expect(withGhost.layout.datarevision).not.toBe(without.layout.datarevision);
    expect(without.data).toHaveLength(withGhost.data.length - 1);
  });

  it('is kept in the legend, greyed, while it has no point', () => {
    const figure = buildHeapFigure(
      { cells: runs, running: null, ghost: { name: 'previous run', x: [], y: [], hover: [] } },
      FALLBACK_THEME
    );
    const last = figure.data[figure.data.length - 1] as any;
    expect(last.name).toBe('previous run');
    expect(last.visible).toBe('legendonly');
  });
});
