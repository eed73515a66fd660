import { checkReport } from '../comm/protocol';
import { cellPayload, sitePayload, statusPayload } from '../testing/fixtures';
import { buildReport } from './report';

/**
 * The report the extension exports against its contract, protocol/report.schema.json (the same
 * schema `heapscope report` is checked against in tests/test_report.py).
 */
describe('checkReport', () => {
  it('accepts the report the extension exports, and finds a bad run in it', () => {
    const cells = [
      { ...cellPayload({ seq: 1, cell_id: 'a' }), top_at_peak: [sitePayload()], retained: [] },
      cellPayload({ seq: 2, cell_id: 'gone', status: 'error' })
    ];
    const source = {
      path: 'demo.ipynb',
      kernelName: 'heapscope',
      status: { ...statusPayload(), tick_hz: 20 },
      cells,
      retainedByCell: null,
      cellIds: ['a'],
      version: '0.1.0',
      now: 1764150001
    };
    expect(checkReport(buildReport(source))).toBeNull();
    const bad = buildReport({ ...source, cells: [cellPayload({ seq: 0 })] });
    expect(checkReport(bad)).toBe('report.cells[0].seq must be >= 1');
  });
});
