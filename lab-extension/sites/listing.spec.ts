import type { IFrame, ISite } from '../comm/protocol';
import { sitePayload } from '../testing/fixtures';
import { isPlainClick } from './dom';
import {
  ariaSort,
  cutMessage,
  DEFAULT_SORT,
  isMyCodeFrame,
  matchesText,
  myCodeSites,
  nextSort,
  rowsToMarkdown,
  rowsToTsv,
  rowText,
  showMoreLabel,
  sortSites
} from './listing';
import { siteRow } from './sites';

const ROOT = '/home/me/project';

/** A frame of a file (not cell code). */
function fileFrame(file: string, line = 10, fn = 'f'): IFrame {
  return { file, line, function: fn, cell_id: null, cell_line: null, execution_count: null };
}

/** A frame of cell code. */
function cellFrame(line: number, count = 3): IFrame {
  return {
    file: '/tmp/ipykernel_1/5.py',
    line,
    function: '<module>',
    cell_id: 'c1',
    cell_line: line,
    execution_count: count
  };
}

/** A site innermost at `stack[0]`, from cell c1 line `cellLine`. */
function site(stack: IFrame[], bytes: number, count = 1, cellLine = 2): ISite {
  return {
    ...stack[0],
    cell_id: 'c1',
    cell_line: cellLine,
    execution_count: 3,
    bytes,
    count,
    stack
  };
}

const relative = (file: string) => (file.startsWith(ROOT + '/') ? file.slice(ROOT.length + 1) : null);

describe('isMyCodeFrame', () => {
  it('counts cell code and files under the server root, not packages inside it', () => {
    expect(isMyCodeFrame(cellFrame(2), relative)).toBe(true);
    expect(isMyCodeFrame(fileFrame(`${ROOT}/src/load.py`), relative)).toBe(true);
    expect(isMyCodeFrame(fileFrame(`${ROOT}/venv/lib/python3.11/site-packages/pandas/io.py`), relative)).toBe(false);
    expect(isMyCodeFrame(fileFrame('/usr/lib/python3.11/json/decoder.py'), relative)).toBe(false);
    expect(isMyCodeFrame(fileFrame('<frozen importlib._bootstrap>'), relative)).toBe(false);
    // Without a root, only cell code.
    expect(isMyCodeFrame(fileFrame(`${ROOT}/src/load.py`))).toBe(false);
    expect(isMyCodeFrame(cellFrame(1))).toBe(true);
  });
});

describe('myCodeSites', () => {
  const mine = (frame: IFrame) => isMyCodeFrame(frame, relative);
  const numpy = fileFrame('/srv/venv/site-packages/numpy/core/numeric.py', 232, 'ones');

  it('counts each site at the innermost frame of the user’s code and adds up sites there', () => {
    const sites = [
      site([numpy, cellFrame(2)], 80, 1),
      site([fileFrame('/srv/venv/site-packages/numpy/x.py'), numpy, cellFrame(2)], 20, 3),
      site([numpy, fileFrame(`${ROOT}/src/load.py`, 7, 'load'), cellFrame(4)], 50, 2, 4),
      site([fileFrame('/usr/lib/python3.11/threading.py')], 999, 1)
    ];
    const out = myCodeSites(sites, mine);
    expect(out.map(s => [s.file, s.line, s.bytes, s.count])).toEqual([
      ['/tmp/ipykernel_1/5.py', 2, 100, 4],
      [`${ROOT}/src/load.py`, 7, 50, 2]
    ]);
    // The cell line's place is cell code; the file's keeps the cell the site came from.
    expect(out[0].cell_line).toBe(2);
    expect(out[1].cell_line).toBe(4);
    expect(out[1].stack.map(f => f.function)).toEqual(['load', '<module>']);
  });

  it('keeps a site without a stack when its own place is the user’s code', () => {
    const bare = { ...site([cellFrame(5)], 10), stack: [] };
    expect(myCodeSites([bare], mine)).toHaveLength(1);
    const library = { ...site([numpy], 10), cell_line: null, cell_id: null, stack: [] };
    expect(myCodeSites([library], mine)).toHaveLength(0);
  });
});

describe('sorting', () => {
  const a = site([fileFrame('/b.py', 3)], 10, 5);
  const b = site([fileFrame('/a.py', 9)], 30, 1);
  const c = { ...site([cellFrame(1)], 20, 2), cell_line: 1 };
  const fileA = { ...b, cell_line: null, cell_id: null };
  const fileB = { ...a, cell_line: null, cell_id: null };

  it('sorts by bytes, blocks or place, both ways, keeping ties in order', () => {
    expect(sortSites([a, b, c], DEFAULT_SORT)).toEqual([b, c, a]);
    expect(sortSites([a, b, c], { key: 'bytes', descending: false })).toEqual([a, c, b]);
    expect(sortSites([a, b, c], { key: 'count', descending: true })).toEqual([a, c, b]);
    // Cell code first, then files A to Z.
    expect(sortSites([fileB, fileA, c], { key: 'location', descending: false })).toEqual([c, fileA, fileB]);
    const tie = { ...a };
    expect(sortSites([a, tie], DEFAULT_SORT)).toEqual([a, tie]);
  });

  it('turns a column’s order round on a second activation and names it for aria-sort', () => {
    expect(nextSort(DEFAULT_SORT, 'bytes')).toEqual({ key: 'bytes', descending: false });
    expect(nextSort(DEFAULT_SORT, 'location')).toEqual({ key: 'location', descending: false });
    expect(nextSort(DEFAULT_SORT, 'count')).toEqual({ key: 'count', descending: true });
    expect(ariaSort(DEFAULT_SORT, 'bytes')).toBe('descending');
    expect(ariaSort({ key: 'location', descending: false }, 'location')).toBe('ascending');
    expect(ariaSort(DEFAULT_SORT, 'count')).toBe('none');
  });
});

describe('matchesText', () => {
  const s = sitePayload({ file: '/srv/pkg/Loader.py', line: 12, function: 'read_csv' });
  const row = siteRow(s, 100, () => 'a\n  df = pd.read_csv(path)');

  it('finds the text in the file, function, place or source line, ignoring case', () => {
    for (const text of ['loader.py', 'LOADER.PY:12', 'read_csv', 'cell [3] line 2', 'pd.read', '  ']) {
      expect(matchesText(row, s, text)).toBe(true);
    }
    expect(matchesText(row, s, 'numpy')).toBe(false);
  });
});

describe('copying as text', () => {
  const rows = [
    siteRow(
      sitePayload({ function: 'f|g', file: '/srv/a\tb.py', bytes: 80_000_000, count: 3 }),
      100_000_000,
      () => 'x\n`y` = 1'
    ),
    siteRow(sitePayload({ bytes: 1000, count: 1 }), 100_000_000, () => undefined)
  ];

  it('writes a row as one line', () => {
    expect(rowText(rows[0])).toBe('80 MB  80 %  3 blocks  cell [3] line 2  f|g (/srv/a\tb.py:2)  `y` = 1');
    expect(rowText(rows[1])).toBe('1 kB  <0.1 %  1 block  cell [3] line 2  <module> (/tmp/ipykernel_1234/123.py:2)');
  });

  it('writes a list as TSV with a header; tabs inside fields become spaces', () => {
    expect(rowsToTsv(rows).split('\n')).toEqual([
      'Bytes\tShare\tBlocks\tLocation\tFunction\tFile\tSource',
      '80 MB\t80 %\t3 blocks\tcell [3] line 2\tf|g\t/srv/a b.py:2\t`y` = 1',
      '1 kB\t<0.1 %\t1 block\tcell [3] line 2\t<module>\t/tmp/ipykernel_1234/123.py:2\t',
      ''
    ]);
  });

  it('writes a list as a Markdown table: pipes escaped, code fenced past its backticks', () => {
    expect(rowsToMarkdown(rows).split('\n')).toEqual([
      '| Bytes | Share | Blocks | Location | Function | File | Source |',
      '| ---: | ---: | ---: | --- | --- | --- | --- |',
      '| 80 MB | 80 % | 3 blocks | cell [3] line 2 | `f\\|g` | `/srv/a\tb.py:2` | `` `y` = 1 `` |',
      '| 1 kB | <0.1 % | 1 block | cell [3] line 2 | `<module>` | `/tmp/ipykernel_1234/123.py:2` |  |',
      ''
    ]);
  });
});

describe('cut lists', () => {
  it('say how many are shown', () => {
    expect(cutMessage(100, 350)).toBe('100 of 350 cells shown');
    expect(cutMessage(12, 12)).toBe('');
    expect(showMoreLabel(50, 200)).toBe('Show 50 more (50 of 200 shown)');
    expect(showMoreLabel(150, 170)).toBe('Show 20 more (150 of 170 shown)');
    expect(showMoreLabel(50, 50)).toBe('');
    expect(showMoreLabel(1000, 1500, 1000)).toBe('Show 500 more (1,000 of 1,500 shown)');
  });
});

describe('isPlainClick', () => {
  it('jumps on a click, not after a drag or while text is selected', () => {
    expect(isPlainClick({ x: 10, y: 10 }, { x: 12, y: 11 }, '')).toBe(true);
    expect(isPlainClick(null, { x: 0, y: 0 }, '')).toBe(true);
    expect(isPlainClick({ x: 10, y: 10 }, { x: 40, y: 10 }, '')).toBe(false);
    expect(isPlainClick({ x: 10, y: 10 }, { x: 10, y: 10 }, 'np.ones')).toBe(false);
  });
});
