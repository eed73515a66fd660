import * as crypto from 'crypto';

import { escapeJsonForHtml, renderReportHtml, REPORT_DATA_ID, REPORT_DATA_MARKER } from './html';
import { buildReportTemplate, IPageParts } from './page';
import { buildReport, IReport } from './report';
import { cellPayload, PAYLOADS, sitePayload, statusPayload } from '../testing/fixtures';

const sha256 = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest('base64');

/** Small stand-ins for plotly and the viewer: the page around them is what is tested. */
const PARTS: IPageParts = {
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
    expect(JSON.parse(data.textContent!)).toEqual(JSON.parse(JSON.stringify(report)));
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
    expect(JSON.parse(doc.getElementById(REPORT_DATA_ID)!.textContent!).cells[0].source).toContain('$& $1 $`');
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
