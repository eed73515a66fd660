import cases from '../format/budget-cases.json';
import { formatBytes, parseBytes } from '../format/bytes';
import {
  Budget,
  BudgetError,
  budgetFigure,
  budgetFromMetadata,
  budgetFromRun,
  budgetKeys,
  BudgetName,
  cellBudgetState,
  firstCodeLine,
  formatBudgetSize,
  hasLimits,
  IRetainedEntry,
  IRunFigures,
  MIN_BUDGET,
  overBudget,
  PartialBudget,
  resolveBudget,
  violationLine,
  withoutBudget
} from './budget';

interface ICase {
  name: string;
  metadata: unknown;
  defaults: PartialBudget;
  run?: IRunFigures & { index: number; source: string };
  retained_by_cell?: IRetainedEntry[] | null;
  budget?: Budget | null;
  over_budget?: BudgetName[];
  lines?: string[];
  error?: string;
}

const all = (cases as { cases: ICase[] }).cases;

describe('budgets (shared cases with tests/test_budgets.py)', () => {
  it('has the cases', () => {
    expect(all.length).toBeGreaterThanOrEqual(10);
  });

  it.each(all.map(c => [c.name, c] as const))('%s', (_, c) => {
    if (c.error !== undefined) {
      expect(() => budgetFromMetadata(c.metadata, 'cell [0]')).toThrow(BudgetError);
      expect(() => budgetFromMetadata(c.metadata, 'cell [0]')).toThrow(c.error);
      return;
    }
    const budget = resolveBudget(budgetFromMetadata(c.metadata, 'cell [0]'), c.defaults);
    expect(hasLimits(budget) ? budget : null).toEqual(c.budget);
    const run = c.run!;
    const retained = c.retained_by_cell ?? null;
    const broken = hasLimits(budget) ? overBudget(run, budget, retained) : [];
    expect(broken).toEqual(c.over_budget);
    const lines = broken.map(name =>
      violationLine(run.index, run.source, name, budgetFigure(name, run, retained), budget[name]!)
    );
    expect(lines).toEqual(c.lines);
  });
});

describe('cellBudgetState', () => {
  const run = { cell_id: 'a', execution_count: 1, start_bytes: 1e9, peak_bytes: 3.4e9, end_bytes: 1e9 };

  it('says why in words', () => {
    const state = cellBudgetState({ heapscope: { max_peak: '2 GB' } }, run, null);
    expect(state.broken).toEqual(['max_peak']);
    expect(state.reasons).toEqual(['peak +2.4 GB > budget 2 GB']);
  });

  it('has no budget without limits, and says what is wrong with bad metadata', () => {
    expect(cellBudgetState({}, run, null).budget).toBeNull();
    expect(cellBudgetState({ heapscope: { execution_count: 3 } }, run, null).budget).toBeNull();
    const bad = cellBudgetState({ heapscope: { max_peak: '2 gigs' } }, run, null);
    expect(bad.budget).toBeNull();
    expect(bad.error).toContain('heapscope.max_peak');
    expect(bad.error).toContain('2 gigs');
  });

  it('judges no run as within its budget', () => {
    const state = cellBudgetState({ heapscope: { max_peak: 1 } }, undefined, null);
    expect(state.budget).toEqual({ max_peak: 1, max_retained: null });
    expect(state.broken).toEqual([]);
  });
});

describe('formatBudgetSize', () => {
  it.each([
    [2_880_000_000, '2.88 GB'],
    [148_148_147, '149 MB'],
    [1_000_000, '1 MB'],
    [36_000_001, '36.1 MB'],
    [999_999, '1 MB'],
    [0, '0 B'],
    [1_234, '1.24 kB']
  ])('writes %p as %p', (bytes, text) => {
    expect(formatBudgetSize(bytes)).toBe(text);
  });

  it('never writes less than it was given, and stays within 1 % above', () => {
    for (let bytes = 1; bytes < 1e13; bytes = Math.ceil(bytes * 1.37 + 7)) {
      const back = parseBytes(formatBudgetSize(bytes))!;
      expect(back).toBeGreaterThanOrEqual(bytes);
      expect(back).toBeLessThanOrEqual(bytes * 1.01 + 1);
    }
  });
});

describe('budgetFromRun', () => {
  it('writes both limits at × 1.2 as the badges write sizes, keeping other keys', () => {
    const run = { cell_id: 'a', execution_count: 2, start_bytes: 100, peak_bytes: 30_000_100, end_bytes: 20_000_100 };
    const section = budgetFromRun({ note: 'x', max_peak: '1 B' }, run, [
      { cell_id: 'a', execution_count: 2, seq: 2, bytes: 25_000_000 }
    ]);
    expect(section).toEqual({ note: 'x', max_peak: '36 MB', max_retained: '30 MB' });
    // What it writes is a budget this run keeps.
    const budget = resolveBudget(budgetFromMetadata({ heapscope: section }));
    expect(overBudget(run, budget, [{ cell_id: 'a', execution_count: 2, seq: 2, bytes: 25_000_000 }])).toEqual([]);
  });

  it('never writes less than the floor', () => {
    const run = { cell_id: 'a', execution_count: 1, start_bytes: 0, peak_bytes: 10, end_bytes: 0 };
    expect(budgetFromRun(undefined, run, null)).toEqual({
      max_peak: formatBytes(MIN_BUDGET),
      max_retained: formatBytes(MIN_BUDGET)
    });
  });
});

describe('withoutBudget and budgetKeys', () => {
  it('drops only the budget keys', () => {
    expect(withoutBudget({ max_peak: '1 GB', max_retained: null, net_bytes: 5 })).toEqual({ net_bytes: 5 });
    expect(withoutBudget({ max_peak: '1 GB' })).toBeUndefined();
    expect(withoutBudget('junk')).toBeUndefined();
    expect(budgetKeys({ max_peak: '1 GB', net_bytes: 5 })).toEqual({ max_peak: '1 GB' });
    expect(budgetKeys(null)).toEqual({});
  });
});

describe('firstCodeLine', () => {
  it('counts characters, not UTF-16 units, and strips as Python does', () => {
    expect(firstCodeLine('\n  # c\n\tx = "😀😀"  \n')).toBe('x = "😀😀"');
    expect(firstCodeLine('😀'.repeat(45))).toBe('😀'.repeat(39) + '…');
    expect(firstCodeLine('# only a comment')).toBe('');
  });
});
