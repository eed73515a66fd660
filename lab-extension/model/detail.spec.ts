import { HeapModel } from './model';
import { cellPayload, cellStartPayload, sitePayload, statusPayload } from '../testing/fixtures';

describe('HeapModel: live ticks, cell detail and retained-by-cell', () => {
  it('collects the running cell’s ticks and drops them when it ends', () => {
    const model = new HeapModel();
    const kinds: string[] = [];
    model.changed.connect((_, args) => kinds.push(args.kind));
    model.apply({ type: 'cell_start', cell: cellStartPayload({ seq: 7 }) });
    model.apply({
      type: 'ticks',
      seq: 7,
      ticks: [
        [1, 10],
        [2, 20]
      ]
    });
    model.apply({ type: 'ticks', seq: 8, ticks: [[3, 99]] });
    model.apply({ type: 'ticks', seq: 7, ticks: [[3, 30]] });
    expect(model.ticks).toEqual([
      [1, 10],
      [2, 20],
      [3, 30]
    ]);
    model.apply({ type: 'cell', cell: cellPayload({ seq: 7 }) });
    expect(model.ticks).toEqual([]);
    expect(kinds).toEqual(['cell-start', 'ticks', 'ticks', 'cell']);
  });

  it('ignores ticks when no cell runs', () => {
    const model = new HeapModel();
    model.apply({ type: 'ticks', seq: 1, ticks: [[1, 10]] });
    expect(model.ticks).toEqual([]);
  });

  it('keeps cell_detail answers by seq and prefers them to the short run', () => {
    const model = new HeapModel();
    const short = cellPayload({ seq: 7, top_at_peak: [sitePayload()] });
    model.apply({ type: 'cell', cell: short });
    expect(model.detail(7)).toBe(short);
    expect(model.hasDetail(7)).toBe(false);
    const changes: HeapModel.IChangedArgs[] = [];
    model.changed.connect((_, args) => changes.push(args));
    const long = { ...short, top_at_peak: [sitePayload(), sitePayload({ bytes: 1 })] };
    model.apply({ type: 'cell_detail', seq: 7, cell: long });
    expect(model.detail(7)).toBe(long);
    expect(changes).toEqual([{ kind: 'detail', cellId: 'c0ffee', seq: 7 }]);
    model.apply({ type: 'cell_detail', seq: 9, cell: null });
    expect(model.detail(9)).toBeNull();
    expect(model.detail(10)).toBeUndefined();
    expect(model.bySeq(7)).toBe(short);
  });

  it('keeps the retained-by-cell split from history and answers, and forgets it on clear', () => {
    const model = new HeapModel();
    const split = [{ cell_id: 'a', bytes: 5, sites: [] }];
    model.apply({ type: 'history', status: statusPayload(), cells: [], running: null, retained_by_cell: split });
    expect(model.retainedByCell).toBe(split);
    // A history without the field keeps what is known.
    model.apply({ type: 'history', status: statusPayload(), cells: [], running: null });
    expect(model.retainedByCell).toBe(split);
    model.apply({ type: 'retained_by_cell', retained_by_cell: null });
    expect(model.retainedByCell).toBeNull();
    model.apply({ type: 'retained_by_cell', retained_by_cell: split });
    model.clear();
    expect(model.retainedByCell).toBeNull();
  });
});
