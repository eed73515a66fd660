/**
 * The self-contained HTML report: a page template (built once from the viewer, plotly.js and the
 * stylesheet, with a strict Content-Security-Policy) into which the report's JSON is put.
 *
 * kernel-launcher/heapscope/html_report.py does the same for `heapscope report --html`, from the
 * same template: the two only share {@link REPORT_DATA_MARKER} and the escaping rule below.
 */

/**
 * The placeholder of the report's JSON in the template (inside
 * `<script type="application/json" id="heapscope-report-data">`); it occurs exactly once, before
 * any other script.
 */
export const REPORT_DATA_MARKER = '@@HEAPSCOPE_REPORT_DATA@@';

/**
 * The id of the element holding the report's JSON.
 */
export const REPORT_DATA_ID = 'heapscope-report-data';

/**
 * Make JSON text safe inside an HTML `<script>` element: `<`, `>`, `&`, U+2028 and U+2029 are
 * written as JSON escapes, so no `</script>` or `<!--` can appear and the text stays valid JSON
 * (and valid JavaScript).
 *
 * @param json - the output of `JSON.stringify`.
 * @returns the same JSON value, without those characters.
 */
export function escapeJsonForHtml(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Put a report into the page template.
 *
 * @param template - the page template (report_assets/report.html).
 * @param report - the report (protocol/report.schema.json).
 * @returns the HTML page.
 * @throws when the template has no placeholder.
 */
export function renderReportHtml(template: string, report: unknown): string {
  const at = template.indexOf(REPORT_DATA_MARKER);
  if (at < 0) {
    throw new Error('the report template has no data placeholder');
  }
  // Slicing, not String.replace: a replacement string would interpret `$&` and friends.
  const data = escapeJsonForHtml(JSON.stringify(report));
  return template.slice(0, at) + data + template.slice(at + REPORT_DATA_MARKER.length);
}
