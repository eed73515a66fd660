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
 * @param report - the report (protocol/report.schema.json); put in packed ({@link packReport}).
 * @returns the HTML page.
 * @throws when the template has no placeholder.
 */
export function renderReportHtml(template: string, report: unknown): string {
  const at = template.indexOf(REPORT_DATA_MARKER);
  if (at < 0) {
    throw new Error('the report template has no data placeholder');
  }
  // Slicing, not String.replace: a replacement string would interpret `$&` and friends.
  const data = escapeJsonForHtml(JSON.stringify(packReport(report)));
  return template.slice(0, at) + data + template.slice(at + REPORT_DATA_MARKER.length);
}

/**
 * The marker of a packed report (see {@link packReport}).
 */
export const PACKED_KEY = 'heapscope_frames';

/**
 * The fields of a frame (protocol defs `Frame`); a site is a frame plus `bytes`, `count`, `stack`.
 */
const FRAME_FIELDS = ['file', 'line', 'function', 'cell_id', 'cell_line', 'execution_count'] as const;

/**
 * The key of a packed site's own place (an index into `heapscope_frames`).
 */
const PLACE_KEY = '@';

/**
 * Pack a report for the page: the sites repeat the same frames (an import cell's 400 sites share
 * a few hundred), so the page holds each distinct frame once, in the array `heapscope_frames`; a
 * site's stack becomes indices into it and its own place (file, line, function, cell fields)
 * the index `@`. Everything else is the report as it is. kernel-launcher/heapscope/html_report.py
 * packs the same way; {@link unpackReport} undoes it (and passes an unpacked report through).
 *
 * @param report - the report (protocol/report.schema.json).
 * @returns the packed report (a new object; the report is not changed).
 */
export function packReport(report: unknown): unknown {
  if (!report || typeof report !== 'object') {
    return report;
  }
  const frames: unknown[] = [];
  const index = new Map<string, number>();
  const intern = (frame: unknown): number => {
    const key = JSON.stringify(frame);
    let at = index.get(key);
    if (at === undefined) {
      at = frames.length;
      frames.push(frame);
      index.set(key, at);
    }
    return at;
  };
  const packSite = (site: unknown): unknown => {
    if (!site || typeof site !== 'object' || !Array.isArray((site as { stack?: unknown }).stack)) {
      return site;
    }
    const record = site as { [key: string]: unknown };
    if (!FRAME_FIELDS.every(field => field in record) || PLACE_KEY in record) {
      return site;
    }
    const place: { [key: string]: unknown } = {};
    const packed: { [key: string]: unknown } = {};
    for (const [key, value] of Object.entries(record)) {
      if ((FRAME_FIELDS as ReadonlyArray<string>).includes(key)) {
        place[key] = value;
      } else {
        packed[key] = key === 'stack' ? (value as unknown[]).map(intern) : value;
      }
    }
    packed[PLACE_KEY] = intern(place);
    return packed;
  };
  const packSites = (sites: unknown): unknown => (Array.isArray(sites) ? sites.map(packSite) : sites);
  const source = report as { cells?: unknown; retained_by_cell?: unknown };
  const packed: { [key: string]: unknown } = { ...(report as object) };
  if (Array.isArray(source.cells)) {
    packed.cells = source.cells.map(cell =>
      cell && typeof cell === 'object'
        ? { ...cell, top_at_peak: packSites(cell.top_at_peak), retained: packSites(cell.retained) }
        : cell
    );
  }
  if (Array.isArray(source.retained_by_cell)) {
    packed.retained_by_cell = source.retained_by_cell.map(entry =>
      entry && typeof entry === 'object' ? { ...entry, sites: packSites(entry.sites) } : entry
    );
  }
  const holders = (report as { holders?: unknown }).holders;
  if (holders && typeof holders === 'object' && Array.isArray((holders as { holders?: unknown }).holders)) {
    packed.holders = {
      ...holders,
      holders: (holders as { holders: unknown[] }).holders.map(holder =>
        holder && typeof holder === 'object' && 'sites' in holder
          ? { ...holder, sites: packSites((holder as { sites: unknown }).sites) }
          : holder
      )
    };
  }
  packed[PACKED_KEY] = frames;
  return packed;
}

/**
 * Undo {@link packReport}: indices become frames again. A report without `heapscope_frames` is
 * returned as it is.
 *
 * @param data - the page's data.
 * @returns the report.
 * @throws when a site names a frame that is not there.
 */
export function unpackReport<T>(data: T): T {
  if (!data || typeof data !== 'object' || !(PACKED_KEY in data)) {
    return data;
  }
  const { [PACKED_KEY]: frames, ...report } = data as { [key: string]: unknown };
  if (!Array.isArray(frames)) {
    throw new Error('the report’s frame table is not an array');
  }
  const frame = (at: unknown): { [key: string]: unknown } => {
    if (typeof at !== 'number' || !(at >= 0 && at < frames.length)) {
      throw new Error('a site names a frame the report does not have');
    }
    return frames[at];
  };
  const unpackSites = (sites: unknown) => {
    if (!Array.isArray(sites)) {
      return sites;
    }
    return sites.map(site => {
      if (!site || typeof site !== 'object' || !(PLACE_KEY in site)) {
        return site;
      }
      const { [PLACE_KEY]: place, stack, ...rest } = site as { [key: string]: unknown };
      return { ...frame(place), ...rest, stack: Array.isArray(stack) ? stack.map(at => ({ ...frame(at) })) : stack };
    });
  };
  const cells = (report as { cells?: unknown }).cells;
  if (Array.isArray(cells)) {
    report.cells = cells.map(cell => {
      if (!cell || typeof cell !== 'object') {
        return cell;
      }
      const copy: { [key: string]: unknown } = { ...cell };
      for (const key of ['top_at_peak', 'retained']) {
        if (key in copy) {
          copy[key] = unpackSites(copy[key]);
        }
      }
      return copy;
    });
  }
  const retained = (report as { retained_by_cell?: unknown }).retained_by_cell;
  if (Array.isArray(retained)) {
    report.retained_by_cell = retained.map(entry =>
      entry && typeof entry === 'object' && 'sites' in entry ? { ...entry, sites: unpackSites(entry.sites) } : entry
    );
  }
  const holders = (report as { holders?: unknown }).holders;
  if (holders && typeof holders === 'object' && Array.isArray((holders as { holders?: unknown }).holders)) {
    report.holders = {
      ...holders,
      holders: (holders as { holders: unknown[] }).holders.map(holder =>
        holder && typeof holder === 'object' && 'sites' in holder
          ? { ...holder, sites: unpackSites((holder as { sites: unknown }).sites) }
          : holder
      )
    };
  }
  return report as T;
}

/**
 * The heapscope version the page template was built for (its `<meta name="generator">`), or null.
 *
 * @param template - the page template.
 */
export function templateVersion(template: string): string | null {
  const match = /<meta name="generator" content="heapscope ([^"<>\s]+)">/.exec(template);
  return match ? match[1] : null;
}
