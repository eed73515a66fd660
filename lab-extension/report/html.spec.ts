import * as crypto from 'crypto';

import {
  escapeJsonForHtml,
  packReport,
  PACKED_KEY,
  renderReportHtml,
  REPORT_DATA_ID,
  REPORT_DATA_MARKER,
  templateVersion,
  unpackReport
} from './html';
import { buildReportTemplate, IPageParts } from './page';
import { buildReport, IReport } from './report';
import { cellPayload, PAYLOADS, sitePayload, statusPayload } from '../testing/fixtures';

const sha256 = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest('base64');

/** Small stand-ins for plotly and the viewer: the page around them is what is tested. */
const PARTS: IPageParts = {
  version: '1.2.3',
  plotly: 'window.Plotly = { newPlot: function () { return Promise.resolve(); } };',
  viewer: 'document.getElementById("heapscope-report").textContent = "viewer ran";',
  css: 'body { margin: 0; }'
};

/** A report whose every kernel string is a payload. */
function hostileReport(): IReport {
  const sites = PAYLOADS.map((payload, i) =>
    sitePayload({
      file: `/srv/${payload}.py`,
      function: payload,
      cell_line: i + 1,
      stack: [
        {
          file: `/srv/${payload}.py`,
          line: 1,
          function: payload,
          cell_id: 'c0ffee',
          cell_line: i + 1,
          execution_count: 3
        }
      ]
    })
  );
  const cell = cellPayload({ source: PAYLOADS.join('\n'), seq: 1, top_at_peak: sites, retained: sites });
  return buildReport({
    path: `${PAYLOADS[0]}.ipynb`,
    kernelName: 'heapscope',
    status: statusPayload({ python: PAYLOADS[1] }),
    cells: [cell],
    retainedByCell: [{ cell_id: 'c0ffee', execution_count: 3, seq: 1, bytes: 1, count: 1, sites }],
    cellIds: ['c0ffee'],
    version: '0.1.0',
    now: 1764150000
  });
}

describe('escapeJsonForHtml', () => {
  it('writes <, >, &, U+2028 and U+2029 as JSON escapes and keeps the value', () => {
    const value = { s: `</script><!--&\u2028\u2029` };
    const escaped = escapeJsonForHtml(JSON.stringify(value));
    expect(escaped).toBe('{"s":"\\u003c/script\\u003e\\u003c!--\\u0026\\u2028\\u2029"}');
    expect(JSON.parse(escaped)).toEqual(value);
  });
});

describe('buildReportTemplate', () => {
  const template = buildReportTemplate(PARTS, sha256);

  it('holds one data placeholder, before any script', () => {
    expect(template.split(REPORT_DATA_MARKER)).toHaveLength(2);
    expect(template.indexOf(REPORT_DATA_MARKER)).toBeLessThan(template.indexOf('<script>'));
  });

  it('has a strict Content-Security-Policy allowing exactly its scripts and style by hash', () => {
    const doc = new DOMParser().parseFromString(template, 'text/html');
    const meta = doc.querySelector('meta[http-equiv="Content-Security-Policy"]');
    expect(meta).not.toBeNull();
    // The policy comes before any script or style.
    expect(template.indexOf('Content-Security-Policy')).toBeLessThan(template.indexOf('<script'));
    const csp = meta!.getAttribute('content')!;
    const directives = new Map(
      csp
        .split(';')
        .map(d => d.trim().split(/\s+/))
        .map(([k, ...v]) => [k, v])
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual([
      `'sha256-${sha256(PARTS.plotly)}'`,
      `'sha256-${sha256(PARTS.viewer)}'`
    ]);
    expect(directives.get('style-src')).toEqual([`'sha256-${sha256(PARTS.css)}'`, `'sha256-${sha256('')}'`]);
    expect(directives.get('connect-src')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(directives.get('form-action')).toEqual(["'none'"]);
    expect(csp).not.toMatch(/unsafe|https?:|\*/);
  });

  it('names the heapscope version in its generator meta', () => {
    expect(template).toContain('<meta name="generator" content="heapscope 1.2.3">');
    expect(templateVersion(template)).toBe('1.2.3');
    expect(templateVersion('<html></html>')).toBeNull();
    expect(() => buildReportTemplate({ ...PARTS, version: '1"><script>' }, sha256)).toThrow(/not a version/);
  });

  it('refuses parts that would close their element early', () => {
    expect(() => buildReportTemplate({ ...PARTS, plotly: 'a="</SCRIPT>"' }, sha256)).toThrow(/cannot be inlined/);
    expect(() => buildReportTemplate({ ...PARTS, css: 'a{}</style>' }, sha256)).toThrow(/cannot be inlined/);
    expect(() => buildReportTemplate({ ...PARTS, viewer: REPORT_DATA_MARKER }, sha256)).toThrow(/placeholder/);
  });
});

describe('renderReportHtml', () => {
  const template = buildReportTemplate(PARTS, sha256);
  const report = hostileReport();
  const html = renderReportHtml(template, report);
  const doc = new DOMParser().parseFromString(html, 'text/html');

  it('embeds the report so that it reads back unchanged', () => {
    const data = doc.getElementById(REPORT_DATA_ID)!;
    expect(data.getAttribute('type')).toBe('application/json');
    expect(unpackReport(JSON.parse(data.textContent!))).toEqual(JSON.parse(JSON.stringify(report)));
  });

  it('lets no payload become markup', () => {
    // Exactly the template's elements: no payload opened a tag or closed the data early.
    expect(doc.querySelectorAll('script')).toHaveLength(3);
    expect(doc.querySelectorAll('img, iframe, object, embed, link, base, form')).toHaveLength(0);
    const data = html.slice(html.indexOf(`id="${REPORT_DATA_ID}">`), html.indexOf('</script>'));
    for (const c of ['<img', '</script', '<!--', '&', '\u2028', '\u2029']) {
      expect(data.slice(data.indexOf('>') + 1)).not.toContain(c);
    }
    // `$&` and friends are copied, not interpreted as replacement patterns.
    expect(unpackReport(JSON.parse(doc.getElementById(REPORT_DATA_ID)!.textContent!)).cells[0].source).toContain(
      '$& $1 $`'
    );
  });

  it('makes no network request: no URL, src or href outside the inlined scripts', () => {
    const outside = html.replace(PARTS.plotly, '').replace(PARTS.viewer, '');
    expect(outside).not.toMatch(/https?:\/\//);
    expect(doc.querySelectorAll('[src], [href]')).toHaveLength(0);
  });

  it('fails on a template without placeholder', () => {
    expect(() => renderReportHtml('<html></html>', report)).toThrow(/placeholder/);
  });
});

describe('packReport', () => {
  const frame = (i: number) => ({
    file: `/lib/m${i}.py`,
    line: i,
    function: `f${i}`,
    cell_id: null,
    cell_line: null,
    execution_count: null
  });
  const site = (stack: number[]) => sitePayload({ ...frame(stack[0]), bytes: 10, count: 1, stack: stack.map(frame) });

  it('stores each distinct frame once and stacks as indices, and unpacks to the same report', () => {
    const cell = cellPayload({ seq: 1, top_at_peak: [site([1, 2, 3]), site([1, 2, 4])], retained: [site([2, 3])] });
    const report = buildReport({
      path: 'a.ipynb',
      kernelName: 'heapscope',
      status: null,
      cells: [cell, cellPayload({ seq: 2 })],
      retainedByCell: [{ cell_id: 'c', execution_count: 1, seq: 1, bytes: 1, count: 1, sites: [site([4, 1])] }],
      cellIds: [],
      version: '0.1.0',
      now: 0
    });
    const before = JSON.stringify(report);
    const packed = packReport(report) as { [key: string]: any };
    expect(JSON.stringify(report)).toBe(before);
    expect(packed[PACKED_KEY]).toHaveLength(4);
    expect(packed.cells[1].top_at_peak).toEqual(report.cells[1].top_at_peak);
    // Frames 1, 2, 3, the place of site 1 (frame 1's fields), frame 4, …
    expect(packed.cells[0].top_at_peak[0]).toEqual({ bytes: 10, count: 1, stack: [0, 1, 2], '@': 0 });
    expect(packed.cells[0].top_at_peak[1].stack).toEqual([0, 1, 3]);
    expect(packed.retained_by_cell[0].sites[0]).toEqual({ bytes: 10, count: 1, stack: [3, 0], '@': 3 });
    expect(unpackReport(JSON.parse(JSON.stringify(packed)))).toEqual(JSON.parse(before));
  });

  it('passes a report that is not packed through, and refuses a stack naming a missing frame', () => {
    const plain = { heapscope_report: 2, cells: [] };
    expect(unpackReport(plain)).toBe(plain);
    const bad = { [PACKED_KEY]: [], cells: [{ top_at_peak: [{ '@': 0, stack: [] }] }] };
    expect(() => unpackReport(bad)).toThrow(/frame/);
  });
});
