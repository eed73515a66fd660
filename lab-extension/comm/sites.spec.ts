import { browserMessage, parseKernelMessage } from './protocol';
import { cellPayload, message, sitePayload, statusPayload } from '../testing/fixtures';

describe('protocol: the engine’s sites, detail and retained-by-cell', () => {
  const site = sitePayload();

  it('parses a cell with top_at_peak and retained', () => {
    const cell = { ...cellPayload({ seq: 7 }), top_at_peak: [site], retained: [] };
    const result = parseKernelMessage(message('cell', { cell }));
    expect(result).toEqual({ ok: true, message: { type: 'cell', cell } });
  });

  it('rejects a malformed site', () => {
    const cell = { ...cellPayload(), top_at_peak: [{ ...site, bytes: -1 }] };
    expect(parseKernelMessage(message('cell', { cell }))).toEqual({
      ok: false,
      error: 'cell.cell.top_at_peak[0].bytes must be >= 0'
    });
    const noStack = { ...cellPayload(), retained: [{ ...site, stack: null }] };
    expect(parseKernelMessage(message('cell', { cell: noStack }))).toEqual({
      ok: false,
      error: 'cell.cell.retained[0].stack must be array'
    });
  });

  it('parses cell_detail, also for a cell the kernel no longer has', () => {
    const cell = { ...cellPayload({ seq: 7 }), top_at_peak: [site, site] };
    expect(parseKernelMessage(message('cell_detail', { seq: 7, cell }))).toEqual({
      ok: true,
      message: { type: 'cell_detail', seq: 7, cell }
    });
    expect(parseKernelMessage(message('cell_detail', { seq: 7, cell: null }))).toEqual({
      ok: true,
      message: { type: 'cell_detail', seq: 7, cell: null }
    });
  });

  it('parses retained_by_cell answers and the history’s split', () => {
    const retained = [
      { cell_id: 'c0ffee', execution_count: 3, seq: 7, bytes: 80_000_000, count: 1, sites: [site] },
      { cell_id: null, execution_count: null, seq: null, bytes: 1_200_000, count: 5321, sites: [] }
    ];
    expect(parseKernelMessage(message('retained_by_cell', { retained_by_cell: retained }))).toEqual({
      ok: true,
      message: { type: 'retained_by_cell', retained_by_cell: retained }
    });
    const history = message('history', { status: statusPayload(), cells: [], running: null, retained_by_cell: null });
    expect(parseKernelMessage(history)).toEqual({
      ok: true,
      message: { type: 'history', status: statusPayload(), cells: [], running: null, retained_by_cell: null }
    });
    expect(parseKernelMessage(message('retained_by_cell', { retained_by_cell: {} }))).toEqual({
      ok: false,
      error: 'retained_by_cell.retained_by_cell must be array'
    });
  });

  it('keeps the engine’s optional status fields and rejects malformed ones', () => {
    const status = {
      ...statusPayload(),
      attribution: true,
      attribution_reason: null,
      pending_mode: 'exact',
      pending_mode_applies: 'next_cell',
      top_n: 20,
      tick_hz: 20,
      tracked_blocks: 41250
    };
    const result = parseKernelMessage(message('status', { status }));
    expect(result.ok && result.message.type === 'status' && result.message.status).toEqual(status);
    // Protocol 2: a known optional field of the wrong type fails the message (1 dropped the field).
    expect(parseKernelMessage(message('status', { status: { ...status, degraded: 'no' } }))).toEqual({
      ok: false,
      error: 'status.status.degraded must be boolean'
    });
  });

  it('builds configure, cell_detail and retained_by_cell requests', () => {
    expect(browserMessage({ type: 'configure', mode: 'exact', top_n: 20 })).toEqual({
      protocol: 2,
      type: 'configure',
      mode: 'exact',
      top_n: 20
    });
    expect(browserMessage({ type: 'cell_detail', seq: 7, limit: 200 })).toEqual({
      protocol: 2,
      type: 'cell_detail',
      seq: 7,
      limit: 200
    });
    expect(browserMessage({ type: 'retained_by_cell' })).toEqual({ protocol: 2, type: 'retained_by_cell' });
  });
});
