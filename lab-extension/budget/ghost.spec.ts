import { cellPayload } from '../testing/fixtures';
import { ghostFromPreviousRuns, ghostFromReport, ghostTooltipLine, ghostTrace, liveCells, matchGhost } from './ghost';

const saved = {
  target: { kind: 'notebook' },
  cells: [
    {
      ...cellPayload({ cell_id: 'a', source: 'import numpy as np', start_bytes: 0, peak_bytes: 10e6, end_bytes: 5e6 }),
      index: 0
    },
    {
      ...cellPayload({
        cell_id: 'b',
        source: 'x = np.ones(10)',
        start_bytes: 5e6,
        peak_bytes: 805e6,
        end_bytes: 405e6
      }),
      index: 1
    },
    {
      ...cellPayload({ cell_id: 'gone', source: 'del x', start_bytes: 405e6, peak_bytes: 405e6, end_bytes: 5e6 }),
      index: 2
    }
  ]
};

describe('the ghost of a saved report', () => {
  const ghost = ghostFromReport(saved, 'nb.heap.json');
  // Now: cell b edited and moved first, a unchanged but second, a new cell c; 'gone' deleted.
  const runs = [
    cellPayload({
      seq: 1,
      cell_id: 'b',
      source: 'x = np.ones(20)',
      start_bytes: 1e6,
      peak_bytes: 921e6,
      end_bytes: 1e6
    }),
    cellPayload({
      seq: 2,
      cell_id: 'a',
      source: 'import numpy as np',
      start_bytes: 1e6,
      peak_bytes: 11e6,
      end_bytes: 6e6
    }),
    cellPayload({ seq: 3, cell_id: 'c', source: 'y = 3', start_bytes: 6e6, peak_bytes: 6e6, end_bytes: 6e6 })
  ];
  // A markdown cell (no run) before c: c sits at 3, not at the deleted cell's position 2.
  const ids = ['b', 'a', 'md', 'c'];
  const last = (id: string) => [...runs].reverse().find(r => r.cell_id === id);
  const matches = matchGhost(ghost, liveCells(ids, last));

  it('matches cells as heapscope diff does', () => {
    expect(matches.get('b')?.kind).toBe('edited');
    expect(matches.get('a')?.kind).toBe('moved');
    expect(matches.has('c')).toBe(false);
  });

  it('says the per-cell Δ for the badge tooltip', () => {
    expect(ghostTooltipLine(ghost, matches.get('b'), last('b')!)).toBe(
      'peak +120 MB vs saved (+15.0 %): +800 MB → +920 MB [edited]'
    );
    expect(ghostTooltipLine(ghost, matches.get('c'), last('c')!)).toBeNull();
  });

  it('draws each matched run from this run’s start, segments apart', () => {
    const trace = ghostTrace(runs, matches, ghost);
    expect(trace.name).toBe('saved report');
    expect(trace.x).toEqual([-0.3, 0, 0.3, null, 0.7, 1, 1.3]);
    expect(trace.y).toEqual([1e6, 801e6, 401e6, null, 1e6, 11e6, 6e6]);
    expect(trace.hover[1]).toContain('peak +800 MB');
    expect(trace.hover[1]).toContain('vs saved (+15.0 %)');
  });

  it('draws a cell run twice at its last run only, and escapes its label', () => {
    const again = [
      ...runs,
      cellPayload({
        seq: 4,
        cell_id: 'a',
        source: 'import numpy as np',
        start_bytes: 6e6,
        peak_bytes: 7e6,
        end_bytes: 6e6
      })
    ];
    const trace = ghostTrace(again, matches, ghost);
    expect(trace.x.filter(x => x !== null && Number.isInteger(x))).toEqual([0, 3]);
    const hostile = ghostFromReport(
      { cells: [{ ...saved.cells[0], source: '<img src=x onerror=alert(1)>' }], target: { kind: 'notebook' } },
      null
    );
    const m = matchGhost(hostile, [{ cell_id: 'a', index: 0, source: 'x' }]);
    const text = ghostTrace([runs[1]], m, hostile).hover.join('');
    expect(text).not.toContain('<img');
    expect(text).toContain('&lt;img');
  });
});

describe('the ghost of the previous runs', () => {
  it('takes the run before the last of each cell run twice', () => {
    const byCell: { [id: string]: ReturnType<typeof cellPayload>[] } = {
      a: [cellPayload({ seq: 1, cell_id: 'a', peak_bytes: 1 }), cellPayload({ seq: 3, cell_id: 'a', peak_bytes: 2 })],
      b: [cellPayload({ seq: 2, cell_id: 'b' })]
    };
    const ghost = ghostFromPreviousRuns(['b', 'a'], id => byCell[id] ?? []);
    expect(ghost?.cells.map(c => [c.cell_id, c.seq, c.index])).toEqual([['a', 1, 1]]);
    expect(ghost?.label).toBe('previous run');
    expect(ghostFromPreviousRuns(['b'], id => byCell[id] ?? [])).toBeNull();
  });
});
