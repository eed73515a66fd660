import { browserMessage, parseKernelMessage, ParseResult } from './protocol';
import { cellPayload, cellStartPayload, message, statusPayload } from '../testing/fixtures';

/** The parsed message, failing the test when parsing failed. */
function parsed(result: ParseResult) {
  if (!result.ok) {
    throw new Error(`expected a valid message, got: ${result.error}`);
  }
  return result.message;
}

/** The parse error, failing the test when parsing succeeded. */
function rejection(data: unknown): string {
  const result = parseKernelMessage(data);
  if (result.ok) {
    throw new Error(`expected a rejection of ${JSON.stringify(data)}`);
  }
  return result.error;
}

describe('parseKernelMessage: valid messages', () => {
  it('parses status', () => {
    const msg = parsed(parseKernelMessage(message('status', { status: statusPayload() })));
    expect(msg).toEqual({ type: 'status', status: statusPayload() });
  });

  it('parses an inactive status that says why', () => {
    const status = statusPayload({ active: false, reason: 'shim not found', shim_version: null });
    const msg = parsed(parseKernelMessage(message('status', { status })));
    expect(msg).toEqual({ type: 'status', status });
  });

  it('parses the optional seq of cell_start and agent_version of status', () => {
    const cell = cellStartPayload({ seq: 7 });
    expect(parsed(parseKernelMessage(message('cell_start', { cell })))).toEqual({ type: 'cell_start', cell });
    const status = { ...statusPayload(), agent_version: '0.1.0' };
    expect(parsed(parseKernelMessage(message('status', { status })))).toEqual({ type: 'status', status });
    expect(rejection(message('cell_start', { cell: { ...cell, seq: '7' } }))).toBe('cell.seq must be an integer');
    expect(rejection(message('status', { status: { ...status, agent_version: 1 } }))).toBe(
      'status.agent_version must be a string'
    );
  });

  it('parses cell_start', () => {
    const msg = parsed(parseKernelMessage(message('cell_start', { cell: cellStartPayload() })));
    expect(msg).toEqual({ type: 'cell_start', cell: cellStartPayload() });
  });

  it('parses cell, with null cell_id and execution_count', () => {
    const cell = cellPayload({ cell_id: null, execution_count: null, status: 'error' });
    const msg = parsed(parseKernelMessage(message('cell', { cell })));
    expect(msg).toEqual({ type: 'cell', cell });
  });

  it('keeps the optional counters of a cell', () => {
    const cell = { ...cellPayload(), allocated_bytes: 10, freed_bytes: 4, alloc_count: 2, free_count: 1, seq: 7 };
    const msg = parsed(parseKernelMessage(message('cell', { cell })));
    expect(msg).toEqual({ type: 'cell', cell });
  });

  it('parses history with cells and a running cell', () => {
    const cells = [cellPayload({ cell_id: 'a' }), cellPayload({ cell_id: 'b', execution_count: 4 })];
    const data = message('history', { status: statusPayload(), cells, running: cellStartPayload() });
    expect(parsed(parseKernelMessage(data))).toEqual({
      type: 'history',
      status: statusPayload(),
      cells,
      running: cellStartPayload()
    });
  });

  it('parses an empty history', () => {
    const data = message('history', { status: statusPayload(), cells: [], running: null });
    expect(parsed(parseKernelMessage(data))).toEqual({
      type: 'history',
      status: statusPayload(),
      cells: [],
      running: null
    });
  });

  it('parses samples, with or without a seq', () => {
    const data = message('samples', { seq: 7, samples: [[1764150000.15, 52430000], [1764150000.2, 0]] });
    expect(parsed(parseKernelMessage(data))).toEqual({
      type: 'samples',
      seq: 7,
      samples: [
        [1764150000.15, 52430000],
        [1764150000.2, 0]
      ]
    });
    expect(parsed(parseKernelMessage(message('samples', { seq: null, samples: [] })))).toEqual({
      type: 'samples',
      seq: null,
      samples: []
    });
  });

  it('rejects malformed samples', () => {
    const bad = (samples: unknown) => rejection(message('samples', { seq: 1, samples }));
    const why = 'samples.samples must be a list of [time, bytes] pairs';
    expect(bad([[1, -5]])).toBe(why);
    expect(bad([[1, 2, 3]])).toBe(why);
    expect(bad([['1', 2]])).toBe(why);
    expect(bad({})).toBe(why);
    expect(rejection(message('samples', { samples: [] }))).toBe("samples lacks 'seq'");
  });

  it('parses error', () => {
    const msg = parsed(parseKernelMessage(message('error', { message: "unknown message type 'foo'" })));
    expect(msg).toEqual({ type: 'error', message: "unknown message type 'foo'" });
  });

  it('allows unknown extra keys and leaves them out', () => {
    const data = {
      ...message('cell', { cell: { ...cellPayload(), future_field: [1, 2] } }),
      sent_by: 'a newer agent'
    };
    expect(parsed(parseKernelMessage(data))).toEqual({ type: 'cell', cell: cellPayload() });
  });
});

describe('parseKernelMessage: rejections', () => {
  it('rejects a message that is not an object', () => {
    expect(rejection(null)).toBe('message must be an object');
    expect(rejection([1])).toBe('message must be an object');
    expect(rejection('status')).toBe('message must be an object');
  });

  it('rejects another protocol version, or none', () => {
    expect(rejection({ ...message('status', { status: statusPayload() }), protocol: 2 })).toMatch(
      /unsupported protocol 2/
    );
    expect(rejection({ type: 'status', status: statusPayload() })).toMatch(/unsupported protocol/);
    expect(rejection({ ...message('status', { status: statusPayload() }), protocol: '1' })).toMatch(
      /unsupported protocol "1"/
    );
  });

  it('rejects unknown and missing types', () => {
    expect(rejection(message('tick'))).toBe('unknown message type "tick"');
    expect(rejection(message('sync'))).toBe('unknown message type "sync"');
    expect(rejection({ protocol: 1 })).toBe("'type' must be a string");
  });

  it('rejects a missing field', () => {
    const { peak_bytes: _, ...cell } = cellPayload();
    expect(rejection(message('cell', { cell }))).toBe("cell lacks 'peak_bytes'");
    expect(rejection(message('cell'))).toBe('cell must be an object');
    expect(rejection(message('error'))).toBe("error lacks 'message'");
  });

  it('rejects ill-typed fields', () => {
    expect(rejection(message('cell', { cell: cellPayload({ source: 3 as any }) }))).toBe(
      'cell.source must be a string'
    );
    expect(rejection(message('cell', { cell: cellPayload({ start_bytes: '1' as any }) }))).toBe(
      'cell.start_bytes must be a non-negative integer'
    );
    expect(rejection(message('cell', { cell: cellPayload({ execution_count: 1.5 }) }))).toBe(
      'cell.execution_count must be an integer or null'
    );
    expect(rejection(message('cell', { cell: cellPayload({ status: 'killed' as any }) }))).toBe(
      'cell.status must be one of ok, error, aborted'
    );
    expect(rejection(message('status', { status: statusPayload({ active: 1 as any }) }))).toBe(
      'status.active must be a boolean'
    );
    expect(rejection(message('status', { status: statusPayload({ mode: 'fast' as any }) }))).toBe(
      'status.mode must be one of default, exact'
    );
  });

  it('rejects negative and fractional byte counts', () => {
    expect(rejection(message('cell', { cell: cellPayload({ end_bytes: -1 }) }))).toBe(
      'cell.end_bytes must be a non-negative integer'
    );
    expect(rejection(message('cell_start', { cell: cellStartPayload({ start_bytes: 0.5 }) }))).toBe(
      'cell.start_bytes must be a non-negative integer'
    );
    expect(rejection(message('status', { status: statusPayload({ current_bytes: -5 }) }))).toBe(
      'status.current_bytes must be a non-negative integer'
    );
    expect(rejection(message('cell', { cell: { ...cellPayload(), freed_bytes: -2 } }))).toBe(
      'cell.freed_bytes must be a non-negative integer'
    );
  });

  it('rejects a peak below start or end', () => {
    const cell = cellPayload({ start_bytes: 10, peak_bytes: 5, end_bytes: 5 });
    expect(rejection(message('cell', { cell }))).toBe('cell.peak_bytes is below start_bytes or end_bytes');
  });

  it('rejects an inactive status without a reason', () => {
    const status = statusPayload({ active: false, reason: null });
    expect(rejection(message('status', { status }))).toBe(
      'status.reason must say why the profiler is not active'
    );
  });

  it('rejects a history with a bad cell, no cell list or no running key', () => {
    const good = { status: statusPayload(), running: null };
    expect(
      rejection(message('history', { ...good, cells: [cellPayload(), cellPayload({ end_bytes: -1 })] }))
    ).toBe('cells[1].end_bytes must be a non-negative integer');
    expect(rejection(message('history', { ...good, cells: {} }))).toBe('history.cells must be a list');
    expect(rejection(message('history', { status: statusPayload(), cells: [] }))).toBe(
      "history lacks 'running'"
    );
    expect(
      rejection(message('history', { ...good, cells: [], running: { cell_id: 'x' } }))
    ).toBe("running lacks 'execution_count'");
  });
});

describe('browserMessage', () => {
  it('builds sync and clear', () => {
    expect(browserMessage('sync')).toEqual({ protocol: 1, type: 'sync' });
    expect(browserMessage('clear')).toEqual({ protocol: 1, type: 'clear' });
  });
});
