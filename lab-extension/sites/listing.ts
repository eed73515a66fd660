/**
 * What a site list shows and in which order: the filter box, "my code only", sorting, the rows
 * shown at first, copying as text and the "N of M shown" notes. Pure: no DOM.
 */
import type { IFrame, ISite } from '../comm/protocol';
import { fileLine, ISiteRow } from './sites';

/**
 * The columns a site list sorts by.
 */
export type SortKey = 'bytes' | 'count' | 'location';

/**
 * A sort order.
 */
export interface ISiteSort {
  readonly key: SortKey;
  readonly descending: boolean;
}

/**
 * The default order: the largest first.
 */
export const DEFAULT_SORT: ISiteSort = { key: 'bytes', descending: true };

/**
 * The order a column is sorted in when it is chosen: figures largest first, places A to Z.
 *
 * @param key - the column.
 */
export function initialSort(key: SortKey): ISiteSort {
  return { key, descending: key !== 'location' };
}

/**
 * The order after a column header is activated: the other direction for the column sorted now,
 * else the column's initial order.
 *
 * @param current - the order now.
 * @param key - the column activated.
 */
export function nextSort(current: ISiteSort, key: SortKey): ISiteSort {
  return current.key === key ? { key, descending: !current.descending } : initialSort(key);
}

/**
 * The `aria-sort` value of a column header.
 *
 * @param sort - the order now.
 * @param key - the column.
 */
export function ariaSort(sort: ISiteSort, key: SortKey): 'ascending' | 'descending' | 'none' {
  if (sort.key !== key) {
    return 'none';
  }
  return sort.descending ? 'descending' : 'ascending';
}

/**
 * The sort key of a site's place: cell code by execution count and line, then files by path and
 * line (cell code first).
 */
function placeOf(site: IFrame): [number, string, number] {
  if (site.cell_line !== null) {
    return [0, String(site.execution_count ?? 0).padStart(12, '0'), site.cell_line];
  }
  return [1, site.file, site.line ?? 0];
}

/**
 * Sort sites, keeping the given order between equal ones.
 *
 * @param sites - the sites.
 * @param sort - the order.
 * @returns a new array.
 */
export function sortSites<T extends ISite>(sites: ReadonlyArray<T>, sort: ISiteSort): T[] {
  const sign = sort.descending ? -1 : 1;
  const compare = (a: T, b: T): number => {
    if (sort.key === 'bytes') {
      return a.bytes - b.bytes || a.count - b.count;
    }
    if (sort.key === 'count') {
      return a.count - b.count || a.bytes - b.bytes;
    }
    const [ka, sa, la] = placeOf(a);
    const [kb, sb, lb] = placeOf(b);
    return ka - kb || (sa < sb ? -1 : sa > sb ? 1 : 0) || la - lb;
  };
  return sites
    .map((site, index) => ({ site, index }))
    .sort((a, b) => sign * compare(a.site, b.site) || a.index - b.index)
    .map(entry => entry.site);
}

/**
 * Whether a site matches the filter box: the text (case-insensitive, blank matches all) is in its
 * file, function, `cell [n] line m` place or source line.
 *
 * @param row - the site's presented row (its place and source line).
 * @param site - the site.
 * @param text - what the user typed.
 */
export function matchesText(row: Pick<ISiteRow, 'location' | 'source'>, site: IFrame, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (!needle) {
    return true;
  }
  return [fileLine(site), site.function, row.location, row.source].some(field => field.toLowerCase().includes(needle));
}

/**
 * Library folders: a file under the server root inside one of them is not the user's code (a
 * virtual environment inside the project).
 */
const LIBRARY_FOLDERS = ['site-packages', 'dist-packages', 'node_modules', '__pypackages__'];

/**
 * Whether a frame is the user's code: a line of a notebook cell, or a file under the server's
 * root that is neither hidden nor in an installed package.
 *
 * @param frame - a frame (of a stack, whose `cell_line` is set only for cell code).
 * @param relativePath - a file's path under the server's root, or null when it is not under it
 *   (navigate/paths.ts `serverRelativePath` with the root; without a root, cell code only).
 */
export function isMyCodeFrame(frame: IFrame, relativePath: (file: string) => string | null = () => null): boolean {
  if (frame.cell_line !== null) {
    return true;
  }
  const relative = relativePath(frame.file);
  return relative !== null && !relative.split('/').some(part => LIBRARY_FOLDERS.includes(part));
}

/**
 * "My code only": each site is counted at the innermost frame of its stack that is the user's
 * code (an allocation inside numpy called from cell line 2 counts at cell line 2), and sites at
 * the same place are added up. Sites with no such frame are left out. A site without a stack
 * counts at its own place when that is the user's code.
 *
 * @param sites - the sites.
 * @param isMine - whether a frame is the user's code (see {@link isMyCodeFrame}).
 * @returns the regrouped sites, largest first; their stack starts at the user's frame.
 */
export function myCodeSites(sites: ReadonlyArray<ISite>, isMine: (frame: IFrame) => boolean): ISite[] {
  const byPlace = new Map<string, ISite>();
  for (const site of sites) {
    let at: IFrame | null = null;
    let stack: ReadonlyArray<IFrame> = [];
    const index = site.stack.findIndex(frame => isMine(frame));
    if (index >= 0) {
      at = site.stack[index];
      stack = site.stack.slice(index);
    } else if (site.stack.length === 0 && isMine(site)) {
      at = site;
    }
    if (at === null) {
      continue;
    }
    const key = JSON.stringify([at.file, at.line, at.function, at.cell_id, at.execution_count]);
    const known = byPlace.get(key);
    if (known) {
      byPlace.set(key, { ...known, bytes: known.bytes + site.bytes, count: known.count + site.count });
    } else {
      byPlace.set(key, {
        file: at.file,
        line: at.line,
        function: at.function,
        // The place is cell code when the frame is; otherwise keep the cell the site came from.
        cell_id: at.cell_line !== null ? at.cell_id : site.cell_id,
        cell_line: at.cell_line !== null ? at.cell_line : site.cell_line,
        execution_count: at.cell_line !== null ? at.execution_count : site.execution_count,
        bytes: site.bytes,
        count: site.count,
        stack
      });
    }
  }
  return sortSites([...byPlace.values()], DEFAULT_SORT);
}

/**
 * How many rows a list shows at first, and how many more each "show more" adds.
 */
export const PAGE_SIZE = 50;

/**
 * The label of the button under a cut list.
 *
 * @param shown - rows shown now.
 * @param total - rows in the list.
 * @param page - rows one click adds.
 * @returns '' when nothing is left out.
 */
export function showMoreLabel(shown: number, total: number, page = PAGE_SIZE): string {
  if (shown >= total) {
    return '';
  }
  const more = Math.min(page, total - shown);
  return `Show ${more} more (${shown.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} shown)`;
}

/**
 * The note over a cut retained-by-cell list: `100 of 350 cells shown`.
 *
 * @param shown - cells shown.
 * @param total - cells in the list.
 * @returns '' when every cell is shown.
 */
export function cutMessage(shown: number, total: number): string {
  if (shown >= total) {
    return '';
  }
  return `${shown.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} cells shown`;
}

/**
 * The columns of a copied list, in order.
 */
export const COPY_COLUMNS: ReadonlyArray<{ readonly title: string; readonly field: keyof ISiteRow }> = [
  { title: 'Bytes', field: 'bytes' },
  { title: 'Share', field: 'percent' },
  { title: 'Blocks', field: 'count' },
  { title: 'Location', field: 'location' },
  { title: 'Function', field: 'function' },
  { title: 'File', field: 'fileLineFull' },
  { title: 'Source', field: 'source' }
];

/**
 * One site as a line of text, for the clipboard: `12 MB  62 %  3 blocks  cell [3] line 2  f
 * (file:line)  source`.
 *
 * @param row - the site's row.
 */
export function rowText(row: ISiteRow): string {
  const parts = [row.bytes, row.percent, row.count, row.location, `${row.function} (${row.fileLineFull})`];
  if (row.source) {
    parts.push(row.source);
  }
  return parts.filter(part => part !== '').join('  ');
}

/**
 * A field of a tab-separated line: tabs and line breaks become spaces.
 */
function tsvField(text: string): string {
  return text.replace(/[\t\r\n]+/g, ' ');
}

/**
 * A list as tab-separated values, with a header line.
 *
 * @param rows - the rows, in the order shown.
 */
export function rowsToTsv(rows: ReadonlyArray<ISiteRow>): string {
  const lines = [COPY_COLUMNS.map(column => column.title).join('\t')];
  for (const row of rows) {
    lines.push(COPY_COLUMNS.map(column => tsvField(row[column.field])).join('\t'));
  }
  return lines.join('\n') + '\n';
}

/**
 * A Markdown table cell: pipes and backslashes escaped, line breaks as spaces; code in backticks.
 */
function markdownField(text: string, code: boolean): string {
  const flat = text
    .replace(/[\r\n]+/g, ' ')
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|');
  if (!code || flat === '') {
    return flat;
  }
  // A fence longer than any run of backticks inside.
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map(run => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/**
 * A list as a Markdown table.
 *
 * @param rows - the rows, in the order shown.
 */
export function rowsToMarkdown(rows: ReadonlyArray<ISiteRow>): string {
  const code = new Set<keyof ISiteRow>(['function', 'fileLineFull', 'source']);
  const right = new Set<keyof ISiteRow>(['bytes', 'percent', 'count']);
  const lines = [
    `| ${COPY_COLUMNS.map(column => column.title).join(' | ')} |`,
    `| ${COPY_COLUMNS.map(column => (right.has(column.field) ? '---:' : '---')).join(' | ')} |`
  ];
  for (const row of rows) {
    lines.push(
      `| ${COPY_COLUMNS.map(column => markdownField(row[column.field], code.has(column.field))).join(' | ')} |`
    );
  }
  return lines.join('\n') + '\n';
}
