/**
 * Budgets in the exported report and on the report page (lab-extension/budget/reportBudgets.ts wired in).
 */
import { checkReport } from '../comm/protocol';
import { buildReport } from './report';
import { renderReport } from './viewer';
import { cellPayload, statusPayload } from '../testing/fixtures';
import { budgetCellText, IBudgetedCell, notebookBudgets, overBudgetLines, withBudgets } from '../budget/reportBudgets';

describe('budgets in the exported report', () => {
  const budgets = notebookBudgets([
    { max_peak: '100 MB' },
    undefined,
    { max_peak: '2 gigs' },
    { max_retained: '1 MB', net_bytes: 5 },
    { max_peak: null }
  ]);

  it('reads each code cell’s metadata; unreadable or empty budgets are left out', () => {
    expect([...budgets.entries()]).toEqual([
      [0, { max_peak: 100_000_000, max_retained: null }],
      [3, { max_peak: null, max_retained: 1_000_000 }]
    ]);
  });

  const report = buildReport({
    path: 'nb.ipynb',
    kernelName: 'heapscope',
    status: statusPayload(),
    cells: [
      cellPayload({ seq: 1, cell_id: 'a', source: 'big = bytearray(200_000_000)' }),
      cellPayload({ seq: 2, cell_id: 'b', source: 'x = 1', start_bytes: 0, peak_bytes: 10, end_bytes: 10 }),
      cellPayload({
        seq: 3,
        cell_id: 'd',
        source: 'keep = list(range(10**6))',
        start_bytes: 0,
        peak_bytes: 9e6,
        end_bytes: 9e6
      })
    ],
    retainedByCell: [{ cell_id: 'd', execution_count: 3, seq: 3, bytes: 8_000_000, count: 1, sites: [] }],
    cellIds: ['a', 'b', 'md', 'd'],
    budgets,
    version: '0.1.0',
    now: 1764150000
  });

  it('writes budget and over_budget into budgeted cells only, as heapscope report does', () => {
    expect(checkReport(JSON.parse(JSON.stringify(report)))).toBeNull();
    const [a, b, d] = report.cells;
    expect(a.budget).toEqual({ max_peak: 100_000_000, max_retained: null });
    expect(a.over_budget).toEqual(['max_peak']);
    expect('budget' in b).toBe(false);
    expect(d.over_budget).toEqual(['max_retained']);
    expect(overBudgetLines(report.cells, report.retained_by_cell ?? null)).toEqual([
      'cell [0] big = bytearray(200_000_000): peak +200 MB > budget 100 MB',
      'cell [3] keep = list(range(10**6)): retained 8 MB > budget 1 MB'
    ]);
    expect(budgetCellText(a)).toBe('peak ≤ +100 MB · over: peak');
    expect(budgetCellText(b)).toBe('');
  });

  it('judges a cell run more than once by its last run only', () => {
    const runs = [
      { ...cellPayload({ seq: 1, cell_id: 'a', start_bytes: 0, peak_bytes: 30e6, end_bytes: 30e6 }), index: 0 },
      { ...cellPayload({ seq: 2, cell_id: 'b' }), index: 1 },
      { ...cellPayload({ seq: 3, cell_id: 'a', start_bytes: 0, peak_bytes: 60e6, end_bytes: 60e6 }), index: 0 }
    ];
    const out = withBudgets(runs, new Map([[0, { max_peak: 36e6, max_retained: 36e6 }]]), [
      { cell_id: 'a', execution_count: 3, seq: 3, bytes: 60e6 }
    ]);
    expect('budget' in out[0]).toBe(false);
    expect((out[2] as IBudgetedCell).over_budget).toEqual(['max_peak', 'max_retained']);
    expect(overBudgetLines(out, [{ cell_id: 'a', execution_count: 3, seq: 3, bytes: 60e6 }])).toHaveLength(2);
  });

  it('keeps a report without budgets as it was', () => {
    const cells = [{ ...cellPayload(), index: 0 }];
    expect(withBudgets(cells, new Map(), null)[0]).toBe(cells[0]);
  });

  it('shows the budget column, red when broken, and the broken budgets in the header', () => {
    const root = document.createElement('main');
    renderReport(root, report, null);
    const heads = Array.from(root.querySelectorAll('.hs-table th')).map(th => th.textContent);
    expect(heads[heads.length - 1]).toBe('Budget');
    const cells = Array.from(root.querySelectorAll('.hs-table td.hs-budget'));
    expect(cells.map(td => td.textContent)).toEqual([
      'peak ≤ +100 MB · over: peak',
      '',
      'retained ≤ 1 MB · over: retained'
    ]);
    expect(cells[0].classList.contains('hs-mod-overBudget')).toBe(true);
    expect(cells[1].classList.contains('hs-mod-overBudget')).toBe(false);
    const warnings = Array.from(root.querySelectorAll('.hs-overBudget')).map(p => p.textContent);
    expect(warnings).toEqual([
      'over budget: cell [0] big = bytearray(200_000_000): peak +200 MB > budget 100 MB',
      'over budget: cell [3] keep = list(range(10**6)): retained 8 MB > budget 1 MB'
    ]);
  });

  it('has no budget column without budgets', () => {
    const root = document.createElement('main');
    renderReport(root, { ...report, cells: report.cells.map(({ budget: _b, over_budget: _o, ...c }) => c) }, null);
    expect(Array.from(root.querySelectorAll('.hs-table th')).map(th => th.textContent)).not.toContain('Budget');
    expect(root.querySelectorAll('.hs-overBudget')).toHaveLength(0);
  });
});
