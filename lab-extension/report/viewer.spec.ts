import { renderReport } from './viewer';
import { buildReport } from './report';
import { cellPayload, PAYLOADS, sitePayload, statusPayload } from '../testing/fixtures';

/** Open every cell's <details> and every retained-by-cell entry, as a reader would. */
function openAll(root: HTMLElement): void {
  for (const details of Array.from(root.querySelectorAll('details'))) {
    details.open = true;
    details.dispatchEvent(new Event('toggle'));
  }
  for (const toggle of Array.from(
    root.querySelectorAll<HTMLButtonElement>('.jp-heapscope-Retained-row > .jp-heapscope-Toggle')
  )) {
    toggle.click();
  }
}

describe('renderReport', () => {
  const sites = PAYLOADS.map((payload, i) =>
    sitePayload({
      file: `/srv/${payload}.py`,
      function: payload,
      cell_line: i + 1,
      bytes: 1000 * (4 - i),
      stack: [
        {
          file: `/srv/${payload}.py`,
          line: 7,
          function: payload,
          cell_id: 'c0ffee',
          cell_line: i + 1,
          execution_count: 3
        }
      ]
    })
  );
  const report = buildReport({
    path: `dir/${PAYLOADS[0]}.ipynb`,
    kernelName: 'heapscope',
    status: statusPayload(),
    cells: [
      cellPayload({ source: PAYLOADS.join('\n'), seq: 1, top_at_peak: sites, retained: sites.slice(0, 1) }),
      cellPayload({ cell_id: 'b', execution_count: 4, source: 'y = 2', seq: 2 })
    ],
    retainedByCell: [{ cell_id: 'c0ffee', execution_count: 3, seq: 1, bytes: 10_000, count: 4, sites }],
    cellIds: ['c0ffee', 'b'],
    version: '0.1.0',
    now: 1764150000
  });

  it('renders every kernel string as text, never as markup', () => {
    const root = document.createElement('main');
    const plotly = { newPlot: jest.fn(() => Promise.resolve()) };
    renderReport(root, report, plotly);
    openAll(root);
    expect(root.querySelectorAll('img, script, iframe')).toHaveLength(0);
    const text = root.textContent!;
    for (const payload of PAYLOADS.slice(0, 3)) {
      expect(text).toContain(payload);
    }
    // Line and paragraph separators are shown escaped.
    expect(text).toContain('\\u{2028}');
    // The figures of every cell, the top lines and the retained-by-cell view.
    expect(text).toContain('[3] <img src=x onerror=alert(1)>');
    expect(text).toContain('[4] y = 2');
    // Cell [3]'s two lists and the retained-by-cell entry's site; cell [4] has none.
    expect(root.querySelectorAll('.jp-heapscope-Site')).toHaveLength(PAYLOADS.length * 2 + 1);
    expect(root.querySelectorAll('.jp-heapscope-Retained')).toHaveLength(1);
    // One heap chart (the page's partial plotly bundle draws scatter traces only).
    expect(plotly.newPlot).toHaveBeenCalledTimes(1);
    const hover = JSON.stringify((plotly.newPlot.mock.calls[0] as any[])[1]);
    expect(hover).not.toContain('<img');
    expect(document.title).toContain('<img src=x onerror=alert(1)>');
  });

  it('renders without plotly and without attribution', () => {
    const root = document.createElement('main');
    renderReport(root, { ...report, retained_by_cell: null, cells: [cellPayload()] }, null);
    openAll(root);
    expect(root.textContent).toContain('No line-level attribution for this cell.');
    expect(root.textContent).toContain('Not available');
  });

  it('says when runs used different modes, per cell, and shows the kernel’s warnings as text', () => {
    const mixed = buildReport({
      path: 'nb.ipynb',
      kernelName: 'heapscope',
      status: { ...statusPayload({ mode: 'exact', degraded: true }), warnings: ['<b>bad</b> HEAPSCOPE_MODE'] },
      cells: [
        cellPayload({ cell_id: 'a', execution_count: 1, seq: 1, mode: 'default' }),
        cellPayload({ cell_id: 'b', execution_count: 2, seq: 2, mode: 'exact' })
      ],
      retainedByCell: null,
      cellIds: ['a', 'b'],
      version: '0.1.0',
      now: 1764150000
    });
    const root = document.createElement('main');
    renderReport(root, mixed, null);
    const facts = Array.from(root.querySelectorAll('.hs-facts')).map(node => node.textContent);
    expect(facts[0]).toContain('mixed modes (default, exact; per cell below)');
    expect(facts[0]).not.toContain('exact mode');
    expect(facts.slice(1).map(text => / (default|exact) mode$/.exec(text!)?.[1])).toEqual(['default', 'exact']);
    const warnings = Array.from(root.querySelectorAll('.hs-warning')).map(node => node.textContent);
    expect(warnings).toEqual([
      'The profiler ran out of bookkeeping memory: figures may be low.',
      'kernel: <b>bad</b> HEAPSCOPE_MODE'
    ]);
    expect(root.querySelector('b')).toBeNull();

    // One mode: the header names it, the cells do not repeat it.
    const single = buildReport({
      path: 'nb.ipynb',
      kernelName: 'heapscope',
      status: statusPayload({ mode: 'default' }),
      cells: [cellPayload({ cell_id: 'a', execution_count: 1, seq: 1, mode: 'exact' })],
      retainedByCell: null,
      cellIds: ['a'],
      version: '0.1.0',
      now: 1764150000
    });
    renderReport(root, single, null);
    const singleFacts = Array.from(root.querySelectorAll('.hs-facts')).map(node => node.textContent);
    expect(singleFacts[0]).toContain('exact mode');
    expect(singleFacts[1]).not.toContain('mode');
  });
});

describe('the report page’s cells', () => {
  it('are closed at first, draw their lists when opened, and open from the cells table', () => {
    const sites = [sitePayload(), sitePayload({ bytes: 5, stack: [] })];
    const report = buildReport({
      path: 'nb.ipynb',
      kernelName: 'heapscope',
      status: statusPayload(),
      cells: [cellPayload({ cell_id: 'c0ffee', seq: 1, top_at_peak: sites, retained: sites })],
      retainedByCell: null,
      cellIds: ['c0ffee'],
      version: '9.8.7',
      now: 1764150000
    });
    const root = document.createElement('main');
    document.body.appendChild(root);
    renderReport(root, report, null);
    expect(root.textContent).toContain('heapscope 9.8.7');
    const details = root.querySelector<HTMLDetailsElement>('details.hs-cell')!;
    expect(details.open).toBe(false);
    expect(details.querySelectorAll('.jp-heapscope-Site')).toHaveLength(0);
    // The Source column holds the first line, the Cell column the execution count.
    const cells = Array.from(root.querySelectorAll('.hs-table tbody td')).map(td => td.textContent);
    expect(cells.slice(0, 2)).toEqual(['[3]', 'x = bytearray(200_000_000)']);
    Element.prototype.scrollIntoView = jest.fn();
    root.querySelector<HTMLButtonElement>('.hs-table .hs-link')!.click();
    details.dispatchEvent(new Event('toggle'));
    expect(details.open).toBe(true);
    expect(details.querySelectorAll('.jp-heapscope-Site')).toHaveLength(4);
    // Stacks are drawn when expanded, not before.
    expect(details.querySelectorAll('.jp-heapscope-Stack')).toHaveLength(0);
    details.querySelector<HTMLButtonElement>('.jp-heapscope-Site .jp-heapscope-Toggle')!.click();
    expect(details.querySelectorAll('.jp-heapscope-Stack')).toHaveLength(1);
    root.remove();
  });
});
