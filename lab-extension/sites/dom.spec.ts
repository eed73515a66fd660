import type { IFrame, IRetained, ISite } from '../comm/protocol';
import { sitePayload } from '../testing/fixtures';
import { createRetainedList, createSiteList, createSiteQueryBar, SiteQuery } from './dom';
import { isMyCodeFrame } from './listing';

/** `n` sites of a library file, each with a stack of `depth` frames down to cell line 2. */
function manySites(n: number, depth = 30): ISite[] {
  const cell: IFrame = {
    file: '/tmp/ipykernel_1/5.py',
    line: 2,
    function: '<module>',
    cell_id: 'c1',
    cell_line: 2,
    execution_count: 3
  };
  return Array.from({ length: n }, (_, i) => {
    const stack: IFrame[] = Array.from({ length: depth - 1 }, (_, d) => ({
      file: `/srv/venv/site-packages/lib/m${(i + d) % 40}.py`,
      line: d + 1,
      function: `fn_${i}_${d}`,
      cell_id: null,
      cell_line: null,
      execution_count: null
    }));
    stack.push(cell);
    return { ...stack[0], cell_id: 'c1', cell_line: 2, execution_count: 3, bytes: 1000 * (n - i), count: i + 1, stack };
  });
}

const rows = (node: HTMLElement) =>
  Array.from(node.querySelectorAll<HTMLElement>('.jp-heapscope-SiteList > .jp-heapscope-Site'));
const functions = (node: HTMLElement) =>
  rows(node).map(row => row.querySelector('.jp-heapscope-Site-where .jp-heapscope-Site-function')!.textContent);

describe('createSiteList', () => {
  it('keeps a 400-site list small in the DOM: 50 rows, stacks drawn when expanded, show more', () => {
    const node = createSiteList(manySites(400), { base: 1e9, lookup: () => undefined });
    expect(rows(node)).toHaveLength(50);
    expect(node.querySelectorAll('.jp-heapscope-Frame')).toHaveLength(0);
    // ~67,000 nodes before (every stack built); now a few per row.
    expect(node.querySelectorAll('*').length).toBeLessThan(1000);
    const more = node.querySelector<HTMLButtonElement>('.jp-heapscope-SiteList-showMore')!;
    expect(more.hidden).toBe(false);
    expect(more.textContent).toBe('Show 50 more (50 of 400 shown)');
    more.click();
    expect(rows(node)).toHaveLength(100);
    const toggle = rows(node)[0].querySelector<HTMLButtonElement>('.jp-heapscope-Toggle')!;
    toggle.click();
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    expect(node.querySelectorAll('.jp-heapscope-Frame')).toHaveLength(30);
    toggle.click();
    expect(node.querySelector<HTMLElement>('.jp-heapscope-Stack')!.hidden).toBe(true);
  });

  it('sorts from its column headers and says so with aria-sort', () => {
    const node = createSiteList(manySites(3), { base: 1e9, lookup: () => undefined });
    const header = (key: string) => node.querySelector<HTMLElement>(`[role="columnheader"][data-sort="${key}"]`)!;
    expect(header('bytes').getAttribute('aria-sort')).toBe('descending');
    expect(functions(node)).toEqual(['fn_0_0', 'fn_1_0', 'fn_2_0']);
    header('count').querySelector('button')!.click();
    expect(header('count').getAttribute('aria-sort')).toBe('descending');
    expect(header('bytes').getAttribute('aria-sort')).toBe('none');
    expect(functions(node)).toEqual(['fn_2_0', 'fn_1_0', 'fn_0_0']);
    header('count').querySelector('button')!.click();
    expect(header('count').getAttribute('aria-sort')).toBe('ascending');
    expect(functions(node)).toEqual(['fn_0_0', 'fn_1_0', 'fn_2_0']);
  });

  it('follows the filter box and "my code only" of its view', () => {
    const query = new SiteQuery();
    const bar = createSiteQueryBar(query, { myCodeTitle: 'cells and files under the root' });
    const node = createSiteList(manySites(60), {
      base: 1e9,
      lookup: () => undefined,
      query,
      isMine: frame => isMyCodeFrame(frame)
    });
    const input = bar.querySelector<HTMLInputElement>('input[type="search"]')!;
    input.value = 'FN_7_';
    input.dispatchEvent(new Event('input'));
    expect(functions(node)).toEqual(['fn_7_0']);
    input.value = 'nothing like it';
    input.dispatchEvent(new Event('input'));
    expect(rows(node)).toHaveLength(0);
    expect(node.querySelector<HTMLElement>('.jp-heapscope-Empty')!.hidden).toBe(false);
    input.value = '';
    input.dispatchEvent(new Event('input'));
    const box = bar.querySelector<HTMLInputElement>('input[type="checkbox"]')!;
    box.checked = true;
    box.dispatchEvent(new Event('change'));
    // Every site came from cell line 2: one row, all the bytes.
    expect(rows(node)).toHaveLength(1);
    expect(rows(node)[0].querySelector('.jp-heapscope-Site-location')!.textContent).toBe('cell [3] line 2');
    expect(rows(node)[0].querySelector('.jp-heapscope-Site-bytes')!.textContent).toBe('1.83 MB');
  });

  it('copies a row and the whole list (TSV, Markdown) to the clipboard', async () => {
    const written: string[] = [];
    Object.defineProperty(navigator, 'clipboard', {
      value: { writeText: (text: string) => Promise.resolve(void written.push(text)) },
      configurable: true
    });
    const node = createSiteList(manySites(60), { base: 1e9, lookup: () => undefined, label: 'Top lines' });
    rows(node)[1].querySelector<HTMLButtonElement>('.jp-heapscope-Site-copy')!.click();
    node.querySelector<HTMLButtonElement>('.jp-heapscope-SiteTable-copy[data-format="tsv"]')!.click();
    node.querySelector<HTMLButtonElement>('.jp-heapscope-SiteTable-copy[data-format="markdown"]')!.click();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(written[0]).toMatch(/^59 kB {2}<0\.1 % {2}2 blocks {2}cell \[3\] line 2 {2}fn_1_0 \(/);
    // Every row, also those beyond "show more".
    expect(written[1].trim().split('\n')).toHaveLength(61);
    expect(written[2].startsWith('**Top lines**\n\n| Bytes |')).toBe(true);
    delete (navigator as { clipboard?: unknown }).clipboard;
  });

  it('jumps from the place button and a plain click, not after selecting text', () => {
    const jumps: IFrame[] = [];
    const node = createSiteList([sitePayload()], { base: 1, lookup: () => undefined, onNavigate: f => jumps.push(f) });
    document.body.appendChild(node);
    const main = node.querySelector<HTMLElement>('.jp-heapscope-Site-main')!;
    node.querySelector<HTMLButtonElement>('button.jp-heapscope-Site-location')!.click();
    expect(jumps).toHaveLength(1);
    main.querySelector<HTMLElement>('.jp-heapscope-Site-function')!.click();
    expect(jumps).toHaveLength(2);
    // A drag across the row (selecting text): no jump.
    const fn = main.querySelector<HTMLElement>('.jp-heapscope-Site-function')!;
    fn.dispatchEvent(new MouseEvent('pointerdown', { bubbles: true, clientX: 5, clientY: 5 }));
    fn.dispatchEvent(new MouseEvent('click', { bubbles: true, clientX: 60, clientY: 6 }));
    expect(jumps).toHaveLength(2);
    // A click while text is selected in the row: no jump.
    const selection = jest.spyOn(window, 'getSelection').mockReturnValue({ toString: () => 'fn' } as Selection);
    fn.dispatchEvent(new MouseEvent('pointerdown', { bubbles: true, clientX: 5, clientY: 5 }));
    fn.dispatchEvent(new MouseEvent('click', { bubbles: true, clientX: 5, clientY: 5 }));
    expect(jumps).toHaveLength(2);
    selection.mockRestore();
    fn.dispatchEvent(new MouseEvent('pointerdown', { bubbles: true, clientX: 5, clientY: 5 }));
    fn.dispatchEvent(new MouseEvent('click', { bubbles: true, clientX: 6, clientY: 5 }));
    expect(jumps).toHaveLength(3);
    node.remove();
  });
});

describe('createRetainedList', () => {
  const entries: IRetained[] = Array.from({ length: 40 }, (_, i) => ({
    cell_id: `c${i}`,
    execution_count: i,
    seq: i,
    bytes: 1000 - i,
    count: 1,
    sites: [sitePayload({ cell_id: `c${i}`, execution_count: i })]
  }));

  it('says when it is cut, and shows all on request', () => {
    const node = createRetainedList(entries, { lookup: () => undefined });
    expect(node.querySelectorAll('.jp-heapscope-Retained')).toHaveLength(25);
    const note = node.querySelector('.jp-heapscope-RetainedTable-cut')!;
    expect(note.textContent).toBe('25 of 40 cells shown · show all');
    note.querySelector<HTMLButtonElement>('button')!.click();
    expect(node.querySelectorAll('.jp-heapscope-Retained')).toHaveLength(40);
    expect((note as HTMLElement).hidden).toBe(true);
  });

  it('adds the kernel’s own cut, and draws a cell’s sites when expanded', () => {
    const node = createRetainedList(entries.slice(0, 3), {
      lookup: () => undefined,
      kernelCut: 'the kernel lists the 100 largest cells'
    });
    expect(node.querySelector('.jp-heapscope-RetainedTable-cut')!.textContent).toBe(
      'the kernel lists the 100 largest cells'
    );
    expect(node.querySelectorAll('.jp-heapscope-Site')).toHaveLength(0);
    node.querySelector<HTMLButtonElement>('.jp-heapscope-Retained .jp-heapscope-Toggle')!.click();
    expect(node.querySelectorAll('.jp-heapscope-Site')).toHaveLength(1);
  });
});

describe('the hidden-sites toggle', () => {
  it('keeps the focus when it draws the list again', () => {
    const small = manySites(30).map((s, i) => (i > 2 ? { ...s, bytes: 1 } : s));
    const node = createSiteList(small, {
      base: 1e9,
      lookup: () => undefined,
      filter: { minShare: 0.00001, hideKernelInternals: false }
    });
    document.body.appendChild(node);
    const toggle = node.querySelector<HTMLButtonElement>('.jp-heapscope-SiteList-toggle')!;
    expect(toggle.textContent).toBe('Show 27 hidden sites (small or kernel-internal)');
    toggle.focus();
    toggle.click();
    expect(document.activeElement).toBe(toggle);
    expect(node.querySelectorAll('.jp-heapscope-Site.jp-mod-filtered')).toHaveLength(27);
    toggle.click();
    expect(document.activeElement).toBe(toggle);
    expect(node.querySelectorAll('.jp-heapscope-Site.jp-mod-filtered')).toHaveLength(0);
    node.remove();
  });
});
