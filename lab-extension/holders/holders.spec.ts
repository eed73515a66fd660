import { parseKernelMessage } from '../comm/protocol';
import { message } from '../testing/fixtures';
import { holder, holdersPayload } from '../testing/holders';
import {
  canJumpToCell,
  DEFAULT_HOLDER_SORT,
  holderAriaSort,
  holderCell,
  holderRow,
  holdersSummary,
  initialHolderSort,
  isReleasable,
  nameList,
  nextHolderSort,
  notableShared,
  progressFraction,
  progressText,
  releasedText,
  releaseQuestion,
  sharedSentence,
  sharedWith,
  sortHolders
} from './holders';

describe('holders fixtures', () => {
  it('are valid protocol messages', () => {
    const result = parseKernelMessage(message('holders', { holders: holdersPayload() }));
    expect(result).toEqual({ ok: true, message: expect.anything() });
  });
});

describe('sortHolders', () => {
  const names = (sort: Parameters<typeof sortHolders>[1]) =>
    sortHolders(holdersPayload().holders, sort).map(h => h.name);

  it('sorts by what deleting frees, largest first, by default; the rest of the heap stays last', () => {
    expect(names(DEFAULT_HOLDER_SORT)).toEqual([
      'last traceback',
      'Out[4]',
      'big',
      'Zed',
      'a',
      'v',
      'not reachable from your names'
    ]);
    expect(names({ key: 'bytes', descending: false })).toEqual([
      'a',
      'v',
      'Zed',
      'big',
      'Out[4]',
      'last traceback',
      'not reachable from your names'
    ]);
  });

  it('sorts names without case, kinds by what one can drop, types A to Z', () => {
    expect(names(initialHolderSort('name'))).toEqual([
      'a',
      'big',
      'last traceback',
      'Out[4]',
      'v',
      'Zed',
      'not reachable from your names'
    ]);
    expect(names(initialHolderSort('kind')).slice(0, 4)).toEqual(['big', 'a', 'v', 'Zed']);
    expect(names(initialHolderSort('kind')).slice(4)).toEqual([
      'Out[4]',
      'last traceback',
      'not reachable from your names'
    ]);
    expect(names(initialHolderSort('type'))[0]).toBe('Zed');
  });

  it('sorts by reachable, ties in the kernel order', () => {
    // Out[4], a and v all reach 80 MB: the kernel's order among them.
    expect(names(initialHolderSort('reachable'))).toEqual([
      'last traceback',
      'big',
      'Out[4]',
      'a',
      'v',
      'Zed',
      'not reachable from your names'
    ]);
  });

  it('puts holders of unknown cells after the known ones in both directions', () => {
    expect(names(initialHolderSort('cell'))).toEqual([
      'a',
      'big',
      'v',
      'Out[4]',
      'last traceback',
      'Zed',
      'not reachable from your names'
    ]);
    expect(names({ key: 'cell', descending: true })).toEqual([
      'Out[4]',
      'v',
      'big',
      'a',
      'last traceback',
      'Zed',
      'not reachable from your names'
    ]);
  });

  it('does not change its input', () => {
    const payload = holdersPayload();
    const before = payload.holders.map(h => h.name);
    sortHolders(payload.holders, initialHolderSort('name'));
    expect(payload.holders.map(h => h.name)).toEqual(before);
  });
});

describe('sort order of the headers', () => {
  it('starts figures descending and words ascending, and turns on a second press', () => {
    expect(initialHolderSort('bytes')).toEqual({ key: 'bytes', descending: true });
    expect(initialHolderSort('reachable')).toEqual({ key: 'reachable', descending: true });
    expect(initialHolderSort('name')).toEqual({ key: 'name', descending: false });
    expect(initialHolderSort('cell')).toEqual({ key: 'cell', descending: false });
    expect(nextHolderSort(DEFAULT_HOLDER_SORT, 'bytes')).toEqual({ key: 'bytes', descending: false });
    expect(nextHolderSort(DEFAULT_HOLDER_SORT, 'type')).toEqual({ key: 'type', descending: false });
  });

  it('says aria-sort on the sorted column only', () => {
    expect(holderAriaSort(DEFAULT_HOLDER_SORT, 'bytes')).toBe('descending');
    expect(holderAriaSort({ key: 'name', descending: false }, 'name')).toBe('ascending');
    expect(holderAriaSort(DEFAULT_HOLDER_SORT, 'name')).toBe('none');
  });
});

describe('shared memory in words', () => {
  it('says "a and b share 80 MB; deleting both frees it"', () => {
    expect(sharedSentence({ names: ['a', 'b'], bytes: 80_000_000 })).toBe(
      'a and b share 80 MB; deleting both frees it.'
    );
    expect(sharedSentence({ names: ['a', 'b', 'c'], bytes: 1_500_000 })).toBe(
      'a, b and c share 1.5 MB; deleting all three frees it.'
    );
    const many = Array.from({ length: 12 }, (_, i) => `x${i}`);
    expect(sharedSentence({ names: many, bytes: 2e9 })).toBe(
      'x0, x1, x2 and 9 more share 2 GB; deleting all 12 frees it.'
    );
  });

  it('makes kernel names displayable, never markup', () => {
    const text = sharedSentence({ names: ['<img src=x>', 'a\u202eb'], bytes: 1000 });
    expect(text).toContain('<img src=x>');
    expect(text).toContain('a\\u{202e}b');
  });

  it('says what one holder shares with whom', () => {
    const { shared } = holdersPayload();
    expect(sharedWith('a', shared)).toEqual(['shares 80 MB with v']);
    expect(sharedWith('big', shared)).toEqual(['shares 300 B with Zed']);
    expect(sharedWith('Out[4]', shared)).toEqual([]);
  });

  it('lists the groups worth a sentence, largest first', () => {
    expect(notableShared(holdersPayload().shared)).toEqual([{ names: ['a', 'v'], bytes: 80_000_000 }]);
    expect(notableShared(holdersPayload().shared, 0)).toHaveLength(1);
    expect(notableShared([{ names: ['p', 'q'], bytes: 10 }], 0)).toHaveLength(1);
    expect(notableShared([])).toEqual([]);
  });

  it('writes lists of names', () => {
    expect(nameList([])).toBe('');
    expect(nameList(['a'])).toBe('a');
    expect(nameList(['a', 'b'])).toBe('a and b');
    expect(nameList(['a', 'b', 'c', 'd'])).toBe('a, b, c and d');
    expect(nameList(['a', 'b', 'c', 'd', 'e'])).toBe('a, b, c and 2 more');
  });
});

describe('rows', () => {
  it('formats a holder as text', () => {
    expect(holderRow(holder())).toEqual({
      name: 'a',
      kind: 'variable',
      bytes: '80 MB',
      reachable: '80 MB',
      type: 'numpy.ndarray',
      cell: '[1]'
    });
    expect(holderRow(holder({ kind: 'other', cell_id: null, execution_count: null })).kind).toBe('rest of heap');
  });

  it('names the cell by its execution count, or not at all', () => {
    expect(holderCell(holder({ execution_count: 7 }))).toBe('[7]');
    expect(holderCell(holder({ execution_count: null }))).toBe('[?]');
    expect(holderCell(holder({ execution_count: undefined, cell_id: null }))).toBe('');
  });

  it('jumps to cells of names and outputs, releases outputs and the traceback only', () => {
    expect(canJumpToCell(holder())).toBe(true);
    expect(canJumpToCell(holder({ cell_id: null }))).toBe(false);
    expect(canJumpToCell(holder({ kind: 'other' }))).toBe(false);
    expect(isReleasable(holder())).toBe(false);
    expect(isReleasable(holder({ kind: 'output' }))).toBe(true);
    expect(isReleasable(holder({ kind: 'traceback' }))).toBe(true);
    expect(isReleasable(holder({ kind: 'other' }))).toBe(false);
  });
});

describe('lines of the view', () => {
  it('sums what your names hold: each holder alone plus what they share', () => {
    // 100 MB + 150 MB + 90 MB + 5 kB + 2 × 112 B + the shared 80 MB (the rest of the heap is no name)
    expect(holdersSummary(holdersPayload())).toBe(
      '6 holders · 420 MB held by your names · 1,661 objects walked · 0.03 s'
    );
    expect(holdersSummary({ holders: [holder()], shared: [] })).toBe('1 holder · 80 MB held by your names');
    expect(
      holdersSummary({ holders: [holder({ name: 'not reachable from your names', kind: 'other' })], shared: [] })
    ).toBe('No name, output or traceback of yours keeps memory alive');
  });

  it('says the progress of each phase', () => {
    expect(progressText(null)).toBe('Asking the kernel who holds the memory…');
    expect(progressText({ phase: 'walk', done: 65536, total: 70000 })).toBe(
      'Walking the objects your names reach… 65,536 so far'
    );
    expect(progressText({ phase: 'sizes', done: 5, total: 10 })).toBe('Measuring objects… 5 of 10');
    expect(progressText({ phase: 'holders', done: 1, total: 3 })).toMatch(/1 of 3$/);
    expect(progressFraction({ phase: 'walk', done: 5, total: 10 })).toBeNull();
    expect(progressFraction({ phase: 'sizes', done: 5, total: 10 })).toBe(0.5);
    expect(progressFraction({ phase: 'holders', done: 5, total: 0 })).toBeNull();
    expect(progressFraction(null)).toBeNull();
  });

  it('asks before a release in words that say what goes', () => {
    const out = releaseQuestion(holder({ name: 'Out[4]', kind: 'output', execution_count: 4, bytes: 100_000_112 }));
    expect(out.title).toBe('Release Out[4]?');
    expect(out.body).toContain('_4');
    expect(out.body).toContain('100 MB');
    const tb = releaseQuestion(holder({ name: 'last traceback', kind: 'traceback', bytes: 150_000_000 }));
    expect(tb.title).toBe('Release the last traceback?');
    expect(tb.body).toContain('150 MB');
  });

  it('says the result of a release', () => {
    expect(releasedText('Out[4]', true, 200_000_000, 100_000_000)).toBe(
      'Released Out[4]: the heap went from 200 MB to 100 MB.'
    );
    expect(releasedText('Out[4]', true)).toBe('Released Out[4].');
    expect(releasedText('Out[4]', false)).toMatch(/did not release Out\[4\]/);
  });
});
