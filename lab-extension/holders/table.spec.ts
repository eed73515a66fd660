import type { IHolder } from '../comm/protocol';
import { PAYLOADS } from '../testing/fixtures';
import { holder, holdersPayload } from '../testing/holders';
import { createHoldersTable, createSharedList, HOLDERS_SHOWN } from './table';

const lookup = () => 'a = np.ones(10_000_000)\nv = a[::2]';

/** The names of the table's rows, in order. */
function rowNames(table: HTMLElement): string[] {
  return Array.from(table.querySelectorAll<HTMLElement>('.jp-heapscope-Holder')).map(row => row.dataset.name!);
}

function header(table: HTMLElement, key: string): HTMLElement {
  return table.querySelector<HTMLElement>(`[role="columnheader"][data-sort="${key}"]`)!;
}

describe('createHoldersTable', () => {
  it('lists the holders by what deleting frees, with aria-sort on the header', () => {
    const table = createHoldersTable(holdersPayload(), { lookup });
    expect(table.getAttribute('role')).toBe('table');
    expect(rowNames(table)[0]).toBe('last traceback');
    expect(rowNames(table)[6]).toBe('not reachable from your names');
    expect(header(table, 'bytes').getAttribute('aria-sort')).toBe('descending');
    expect(header(table, 'name').getAttribute('aria-sort')).toBe('none');
    const first = table.querySelector('.jp-heapscope-Holder')!;
    expect(first.querySelector('[data-column="bytes"]')!.textContent).toBe('150 MB');
    expect(first.querySelector('[data-column="kind"]')!.textContent).toBe('traceback');
  });

  it('sorts when a header button is pressed, and the other way on a second press', () => {
    const sorts: string[] = [];
    const table = createHoldersTable(holdersPayload(), { lookup, onSort: sort => sorts.push(sort.key) });
    document.body.appendChild(table);
    const button = header(table, 'name').querySelector('button')!;
    button.click();
    expect(rowNames(table).slice(0, 3)).toEqual(['a', 'big', 'last traceback']);
    expect(header(table, 'name').getAttribute('aria-sort')).toBe('ascending');
    expect(header(table, 'bytes').getAttribute('aria-sort')).toBe('none');
    expect(document.activeElement).toBe(button);
    button.click();
    expect(rowNames(table).slice(0, 2)).toEqual(['Zed', 'v']);
    expect(header(table, 'name').getAttribute('aria-sort')).toBe('descending');
    expect(sorts).toEqual(['name', 'name']);
    table.remove();
  });

  it('starts in the order and with the rows expanded a view kept', () => {
    const table = createHoldersTable(holdersPayload(), {
      lookup,
      sort: { key: 'reachable', descending: false },
      expanded: new Set(['a'])
    });
    expect(header(table, 'reachable').getAttribute('aria-sort')).toBe('ascending');
    const a = table.querySelector<HTMLElement>('.jp-heapscope-Holder[data-name="a"]')!;
    expect(a.querySelector('.jp-heapscope-Toggle')!.getAttribute('aria-expanded')).toBe('true');
    expect(a.querySelector('.jp-heapscope-Holder-note')!.textContent).toBe('shares 80 MB with v');
    expect(a.querySelectorAll('.jp-heapscope-Site')).toHaveLength(1);
  });

  it('expands a row to its sites, which jump to their line', () => {
    const jumps: unknown[] = [];
    const expands: [string, boolean][] = [];
    const table = createHoldersTable(holdersPayload(), {
      lookup,
      onNavigate: frame => jumps.push(frame),
      onExpand: (name, open) => expands.push([name, open])
    });
    const a = table.querySelector<HTMLElement>('.jp-heapscope-Holder[data-name="a"]')!;
    expect(a.querySelector('.jp-heapscope-SiteTable')).toBeNull();
    const toggle = a.querySelector<HTMLButtonElement>('.jp-heapscope-Toggle')!;
    toggle.click();
    expect(a.querySelector('.jp-heapscope-SiteTable')).not.toBeNull();
    a.querySelector<HTMLButtonElement>('.jp-heapscope-Site-location.jp-heapscope-Jump')!.click();
    expect(jumps).toHaveLength(1);
    toggle.click();
    expect(expands).toEqual([
      ['a', true],
      ['a', false]
    ]);
    // A holder without sites says so.
    const big = table.querySelector<HTMLElement>('.jp-heapscope-Holder[data-name="big"]')!;
    big.querySelector<HTMLButtonElement>('.jp-heapscope-Toggle')!.click();
    expect(big.querySelector('.jp-heapscope-Empty')!.textContent).toMatch(/No allocation sites known/);
  });

  it('jumps to the cell of names and outputs, and offers release for outputs and the traceback only', () => {
    const jumped: string[] = [];
    const released: string[] = [];
    const table = createHoldersTable(holdersPayload(), {
      lookup,
      onJumpToCell: (h: IHolder) => jumped.push(h.name),
      onRelease: (h: IHolder) => released.push(h.name)
    });
    const row = (name: string) => table.querySelector<HTMLElement>(`.jp-heapscope-Holder[data-name="${name}"]`)!;
    row('v').querySelector<HTMLButtonElement>('.jp-heapscope-Holder-jump')!.click();
    row('Out[4]').querySelector<HTMLButtonElement>('.jp-heapscope-Holder-jump')!.click();
    expect(jumped).toEqual(['v', 'Out[4]']);
    // No cell known: text, no button.
    expect(row('Zed').querySelector('.jp-heapscope-Holder-jump')).toBeNull();
    expect(row('not reachable from your names').querySelector('.jp-heapscope-Holder-jump')).toBeNull();
    const releases = Array.from(table.querySelectorAll<HTMLElement>('.jp-heapscope-Holder-release')).map(
      node => node.closest<HTMLElement>('.jp-heapscope-Holder')!.dataset.name
    );
    expect(releases.sort()).toEqual(['Out[4]', 'last traceback']);
    row('Out[4]').querySelector<HTMLButtonElement>('.jp-heapscope-Holder-release')!.click();
    expect(released).toEqual(['Out[4]']);
  });

  it('has no release buttons or cell buttons without the callbacks (the report)', () => {
    const table = createHoldersTable(holdersPayload(), { lookup });
    expect(table.querySelector('.jp-heapscope-Holder-release')).toBeNull();
    expect(table.querySelector('.jp-heapscope-Holder-jump')).toBeNull();
    expect(table.querySelector('.jp-heapscope-Holder[data-name="a"] [data-column="cell"]')!.textContent).toBe('[1]');
  });

  it('puts kernel strings in as text', () => {
    const payload = holdersPayload();
    const hostile = { ...payload, holders: PAYLOADS.map(p => holder({ name: p, type: p })) };
    const table = createHoldersTable(hostile, { lookup, onJumpToCell: () => undefined });
    expect(table.querySelector('img')).toBeNull();
    expect(table.querySelector('script')).toBeNull();
    expect(table.querySelector('[data-column="name"]')!.textContent).toBe(PAYLOADS[0]);
  });

  it('draws the first holders and the rest on "show all"', () => {
    const many = Array.from({ length: HOLDERS_SHOWN + 5 }, (_, i) => holder({ name: `x${i}`, bytes: 1000 - i }));
    const table = createHoldersTable({ holders: many, shared: [] }, { lookup });
    expect(rowNames(table)).toHaveLength(HOLDERS_SHOWN);
    const all = table.querySelector<HTMLButtonElement>('.jp-heapscope-HoldersTable-all')!;
    expect(all.hidden).toBe(false);
    expect(all.textContent).toBe(`${HOLDERS_SHOWN} of ${HOLDERS_SHOWN + 5} holders shown · show all`);
    all.click();
    expect(rowNames(table)).toHaveLength(HOLDERS_SHOWN + 5);
    expect(all.hidden).toBe(true);
  });

  it('says when there are no holders', () => {
    const table = createHoldersTable({ holders: [], shared: [] }, { lookup });
    expect(table.textContent).toMatch(/No holders/);
  });
});

describe('createSharedList', () => {
  it('says the shared memory in sentences, or nothing', () => {
    const list = createSharedList(holdersPayload())!;
    expect(Array.from(list.querySelectorAll('li')).map(li => li.textContent)).toEqual([
      'a and v share 80 MB; deleting both frees it.'
    ]);
    expect(createSharedList({ holders: [], shared: [] })).toBeNull();
  });

  it('cuts a long list', () => {
    const shared = Array.from({ length: 8 }, (_, i) => ({ names: [`p${i}`, `q${i}`], bytes: 10_000_000 - i }));
    const list = createSharedList({ holders: [], shared })!;
    expect(list.querySelectorAll('li')).toHaveLength(6);
    expect(list.lastElementChild!.textContent).toBe('3 more groups share smaller amounts.');
  });
});
