import cases from './match-cases.json';
import {
  IMatchable,
  IReportRun,
  matchCells,
  MatchKind,
  peakDeltaText,
  percentChange,
  percentText,
  reportCells
} from './match';

interface IMatchCase {
  name: string;
  before: IMatchable[];
  after: IMatchable[];
  rows: Array<[MatchKind, number | null, number | null]>;
}

interface IReportCase {
  name: string;
  report: { target: { kind: string }; cells: IReportRun[] };
  cells: Array<{ cell_id: string | null; index: number; seq: number | null }>;
}

describe('matchCells (shared cases with tests/test_diff_match_cases.py)', () => {
  it.each((cases.match as IMatchCase[]).map(c => [c.name, c] as const))('%s', (_, c) => {
    expect(matchCells(c.before, c.after)).toEqual(c.rows);
  });

  it('covers every kind of match', () => {
    const kinds = new Set((cases.match as IMatchCase[]).flatMap(c => c.rows.map(r => r[0])));
    expect([...kinds].sort()).toEqual(['added', 'deleted', 'edited', 'moved', 'same']);
  });
});

describe('reportCells (shared cases)', () => {
  it.each((cases.report_cells as unknown as IReportCase[]).map(c => [c.name, c] as const))('%s', (_, c) => {
    const cells = reportCells(c.report);
    expect(cells.map(x => ({ cell_id: x.cell_id ?? null, index: x.index, seq: x.seq ?? null }))).toEqual(c.cells);
  });
});

describe('percentChange (shared cases)', () => {
  it.each(cases.percent as Array<[number, number, number | null]>)('%p → %p: %p', (before, after, expected) => {
    expect(percentChange(before, after)).toBe(expected);
  });
});

describe('the Δ text of the badge tooltip', () => {
  const run = (start: number, peak: number) => ({ start_bytes: start, peak_bytes: peak, end_bytes: start });

  it('says the peak change, in % of the saved peak, and both peaks', () => {
    expect(peakDeltaText(run(0, 800e6), run(1e9, 1e9 + 920e6), 'saved', 'same')).toBe(
      'peak +120 MB vs saved (+15.0 %): +800 MB → +920 MB'
    );
  });

  it('says when the cell was edited or moved, and leaves the % out from nothing', () => {
    expect(peakDeltaText(run(0, 0), run(0, 5e6), 'previous run', 'edited')).toBe(
      'peak +5 MB vs previous run: +0 B → +5 MB [edited]'
    );
    expect(peakDeltaText(run(0, 200e6), run(0, 100e6), 'saved', 'moved')).toBe(
      'peak -100 MB vs saved (-50.0 %): +200 MB → +100 MB [moved]'
    );
  });

  it('writes percentages as heapscope diff prints them', () => {
    expect(percentText(null)).toBe('');
    expect(percentText(0)).toBe(' (+0.0 %)');
    // Python's f"{value:+.1f}" (heapscope diff): -0.01 is "-0.0", 13.95 (a float below it) "+13.9".
    expect(percentText(-0.01)).toBe(' (-0.0 %)');
    expect(percentText(13.95)).toBe(' (+13.9 %)');
  });
});
