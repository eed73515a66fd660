import { renderReport } from './viewer';
import { buildReport } from './report';
import { cellPayload, PAYLOADS, sitePayload, statusPayload } from '../testing/fixtures';

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
    expect(root.querySelectorAll('.jp-heapscope-Site')).toHaveLength(PAYLOADS.length * 2 + 1);
    expect(root.querySelectorAll('.jp-heapscope-Retained')).toHaveLength(1);
    // One heap chart and one icicle.
    expect(plotly.newPlot).toHaveBeenCalledTimes(2);
    const hover = JSON.stringify((plotly.newPlot.mock.calls[1] as any[])[1]);
    expect(hover).not.toContain('<img');
    expect(document.title).toContain('<img src=x onerror=alert(1)>');
  });

  it('renders without plotly and without attribution', () => {
    const root = document.createElement('main');
    renderReport(root, { ...report, retained_by_cell: null, cells: [cellPayload()] }, null);
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
