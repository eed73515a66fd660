import { HeapModel } from './model';
import { cellPayload, cellStartPayload, statusPayload } from '../testing/fixtures';

/** A model that records every change it emits. */
function watchedModel(): { model: HeapModel; changes: HeapModel.IChangedArgs[] } {
  const model = new HeapModel();
  const changes: HeapModel.IChangedArgs[] = [];
  model.changed.connect((_, args) => changes.push(args));
  return { model, changes };
}

describe('HeapModel', () => {
  it('starts empty', () => {
    const model = new HeapModel();
    expect(model.status).toBeNull();
    expect(model.cells).toEqual([]);
    expect(model.running).toBeNull();
    expect(model.lastRun('c0ffee')).toBeUndefined();
  });

  it('stores the status', () => {
    const { model, changes } = watchedModel();
    model.apply({ type: 'status', status: statusPayload({ mode: 'exact' }) });
    expect(model.status?.mode).toBe('exact');
    expect(changes).toEqual([{ kind: 'status', cellId: null }]);
  });

  it('tracks a cell from cell_start to cell', () => {
    const { model, changes } = watchedModel();
    model.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'a' }) });
    expect(model.running?.cell_id).toBe('a');
    expect(model.cells).toHaveLength(0);

    const run = cellPayload({ cell_id: 'a' });
    model.apply({ type: 'cell', cell: run });
    expect(model.running).toBeNull();
    expect(model.cells).toEqual([run]);
    expect(model.lastRun('a')).toBe(run);
    expect(changes).toEqual([
      { kind: 'cell-start', cellId: 'a' },
      { kind: 'cell', cellId: 'a' }
    ]);
  });

  it('takes a run it saw no cell_start of (a cell shorter than the agent\u2019s START_AFTER)', () => {
    const { model, changes } = watchedModel();
    const quick = cellPayload({ cell_id: 'q', seq: 1 });
    model.apply({ type: 'cell', cell: quick });
    expect(model.running).toBeNull();
    expect(model.cells).toEqual([quick]);
    expect(model.lastRun('q')).toBe(quick);
    expect(changes).toEqual([{ kind: 'cell', cellId: 'q' }]);
  });

  it('keeps the running cell when another cell finishes', () => {
    const { model } = watchedModel();
    model.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'b' }) });
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a' }) });
    expect(model.running?.cell_id).toBe('b');
  });

  it('keeps every run of a re-run cell in execution order, the last one as lastRun', () => {
    const { model } = watchedModel();
    const first = cellPayload({ cell_id: 'a', execution_count: 1, started_at: 1 });
    const other = cellPayload({ cell_id: 'b', execution_count: 2, started_at: 2 });
    const again = cellPayload({
      cell_id: 'a',
      execution_count: 3,
      started_at: 3,
      start_bytes: 100,
      peak_bytes: 300,
      end_bytes: 200
    });
    [first, other, again].forEach(cell => model.apply({ type: 'cell', cell }));

    expect(model.cells).toEqual([first, other, again]);
    expect(model.lastRun('a')).toBe(again);
    expect(model.runs('a')).toEqual([first, again]);
    expect(model.runs('b')).toEqual([other]);
  });

  it('does not count the same execution twice', () => {
    const { model } = watchedModel();
    const run = cellPayload({ cell_id: 'a' });
    model.apply({ type: 'history', status: statusPayload(), cells: [run], running: null });
    model.apply({ type: 'cell', cell: { ...run } });
    expect(model.cells).toHaveLength(1);
    expect(model.runs('a')).toHaveLength(1);
  });

  it('merges a cell with the same seq as one it holds, even if other fields differ', () => {
    const { model } = watchedModel();
    const inHistory = cellPayload({ cell_id: 'a', seq: 4, started_at: 1 });
    model.apply({ type: 'history', status: statusPayload(), cells: [inHistory], running: null });
    const broadcast = cellPayload({ cell_id: 'a', seq: 4, started_at: 1.5 });
    model.apply({ type: 'cell', cell: broadcast });
    expect(model.cells).toEqual([broadcast]);
    expect(model.runs('a')).toEqual([broadcast]);
  });

  it('keeps two runs with different seq apart even with equal other fields', () => {
    const { model } = watchedModel();
    model.apply({ type: 'cell', cell: cellPayload({ seq: 1 }) });
    model.apply({ type: 'cell', cell: cellPayload({ seq: 2 }) });
    expect(model.cells.map(c => c.seq)).toEqual([1, 2]);
  });

  it('orders nested cells, which finish before the cell around them, by seq', () => {
    const { model } = watchedModel();
    model.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'outer', seq: 2 }) });
    model.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'inner', seq: 3 }) });
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'inner', seq: 3 }) });
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'outer', seq: 2 }) });
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'next', seq: 4 }) });
    expect(model.cells.map(c => c.cell_id)).toEqual(['outer', 'inner', 'next']);
  });

  it('clears the running cell only when that run finishes', () => {
    const { model } = watchedModel();
    model.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'a', seq: 5 }) });
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a', seq: 4 }) });
    expect(model.running?.seq).toBe(5);
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a', seq: 5 }) });
    expect(model.running).toBeNull();
  });

  it('keeps the live ticks of the running cell only', () => {
    const { model, changes } = watchedModel();
    model.apply({ type: 'ticks', seq: 1, ticks: [[1, 10]] });
    expect(model.ticks).toEqual([]);
    model.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'a', seq: 2 }) });
    model.apply({
      type: 'ticks',
      seq: 2,
      ticks: [
        [1, 10],
        [2, 20]
      ]
    });
    model.apply({ type: 'ticks', seq: 9, ticks: [[3, 99]] });
    model.apply({ type: 'ticks', seq: 2, ticks: [[3, 30]] });
    expect(model.ticks).toEqual([
      [1, 10],
      [2, 20],
      [3, 30]
    ]);
    expect(changes.filter(c => c.kind === 'ticks')).toEqual([
      { kind: 'ticks', cellId: 'a' },
      { kind: 'ticks', cellId: 'a' }
    ]);
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a', seq: 2 }) });
    expect(model.ticks).toEqual([]);
  });

  it('keeps the running cell’s RSS readings beside its ticks, and drops them when it ends', () => {
    const { model } = watchedModel();
    model.apply({ type: 'ticks', seq: 1, ticks: [[1, 10]], rss: [[1, 500]] });
    expect(model.rssTicks).toEqual([]);
    model.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'a', seq: 2 }) });
    model.apply({ type: 'ticks', seq: 2, ticks: [[1, 10]], rss: [[1.1, 500]] });
    model.apply({ type: 'ticks', seq: 9, ticks: [[2, 99]], rss: [[2, 999]] });
    model.apply({ type: 'ticks', seq: 2, ticks: [[2, 20]] }); // (a kernel that sends no RSS)
    model.apply({ type: 'ticks', seq: 2, ticks: [[3, 30]], rss: [[3.1, 700]] });
    expect(model.rssTicks).toEqual([
      [1.1, 500],
      [3.1, 700]
    ]);
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a', seq: 2 }) });
    expect(model.rssTicks).toEqual([]);
  });

  it('lists cells without an id but does not index them', () => {
    const { model } = watchedModel();
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: null }) });
    expect(model.cells).toHaveLength(1);
    expect(model.runs('null')).toEqual([]);
  });

  it('replaces its whole state with a history', () => {
    const { model, changes } = watchedModel();
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'old' }) });
    model.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'old2' }) });

    const cells = [cellPayload({ cell_id: 'a', started_at: 1 }), cellPayload({ cell_id: 'b', started_at: 2 })];
    const running = cellStartPayload({ cell_id: 'c' });
    const status = statusPayload({ current_bytes: 7 });
    model.apply({ type: 'history', status, cells, running });

    expect(model.cells).toEqual(cells);
    expect(model.lastRun('old')).toBeUndefined();
    expect(model.lastRun('b')).toBe(cells[1]);
    expect(model.running).toBe(running);
    expect(model.status).toBe(status);
    expect(changes[changes.length - 1]).toEqual({ kind: 'history', cellId: null });
  });

  it('forgets everything on clear', () => {
    const { model, changes } = watchedModel();
    model.apply({
      type: 'history',
      status: statusPayload(),
      cells: [cellPayload()],
      running: cellStartPayload()
    });
    model.clear();
    expect(model.cells).toEqual([]);
    expect(model.running).toBeNull();
    expect(model.status).toBeNull();
    expect(model.lastRun('c0ffee')).toBeUndefined();
    expect(changes[changes.length - 1]).toEqual({ kind: 'clear', cellId: null });
  });

  it('ignores error messages', () => {
    const { model, changes } = watchedModel();
    model.apply({ type: 'error', message: 'nope' });
    expect(changes).toEqual([]);
  });

  it('disposes idempotently and stops emitting', () => {
    const { model, changes } = watchedModel();
    model.dispose();
    model.dispose();
    expect(model.isDisposed).toBe(true);
    model.clear();
    expect(changes).toEqual([]);
  });

  it('changes cellsVersion for anything but runs appended at the end', () => {
    const model = new HeapModel();
    const v0 = model.cellsVersion;
    model.apply({ type: 'cell', cell: cellPayload({ seq: 1 }) });
    model.apply({ type: 'cell', cell: cellPayload({ seq: 2 }) });
    expect(model.cellsVersion).toBe(v0);
    // A nested cell's run arrives after the run around it.
    model.apply({ type: 'cell', cell: cellPayload({ seq: 1.5 as any }) });
    const v1 = model.cellsVersion;
    expect(v1).not.toBe(v0);
    expect(model.cells.map(c => c.seq)).toEqual([1, 1.5, 2]);
    // The same run again replaces it.
    const again = cellPayload({ seq: 2, end_bytes: 1 });
    model.apply({ type: 'cell', cell: again });
    expect(model.cells).toHaveLength(3);
    expect(model.bySeq(2)).toBe(again);
    expect(model.cellsVersion).not.toBe(v1);
    const v2 = model.cellsVersion;
    model.apply({ type: 'history', status: statusPayload(), cells: [], running: null });
    expect(model.cellsVersion).not.toBe(v2);
    expect(model.bySeq(2)).toBeUndefined();
  });

  it('keeps the live peak of the running cell without scanning its ticks', () => {
    const model = new HeapModel();
    model.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'a', seq: 1, start_bytes: 100 }) });
    expect(model.livePeak).toBe(100);
    model.apply({
      type: 'ticks',
      seq: 1,
      ticks: [
        [1, 150],
        [2, 120]
      ]
    });
    model.apply({ type: 'ticks', seq: 1, ticks: [[3, 130]] });
    expect(model.livePeak).toBe(150);
    expect(model.ticks).toEqual([
      [1, 150],
      [2, 120],
      [3, 130]
    ]);
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a', seq: 1 }) });
    expect(model.ticks).toEqual([]);
  });

  it('bounds the ticks it keeps and keeps the newest', () => {
    const model = new HeapModel();
    model.apply({ type: 'cell_start', cell: cellStartPayload({ seq: 1, start_bytes: 0 }) });
    for (let i = 0; i < 50_000; i += 100) {
      model.apply({
        type: 'ticks',
        seq: 1,
        ticks: Array.from({ length: 100 }, (_, j) => [i + j, i + j] as [number, number])
      });
    }
    expect(model.ticks.length).toBeLessThanOrEqual(20_000);
    expect(model.ticks.length).toBeGreaterThanOrEqual(10_000);
    expect(model.ticks[model.ticks.length - 1]).toEqual([49_999, 49_999]);
    expect(model.livePeak).toBe(49_999);
  });
});
