/**
 * DOM for site tables and the retained-by-cell list, shared by the Heap panel and the exported
 * report's viewer. Every kernel string goes in through `textContent`; no kernel string becomes an
 * attribute other than `title` (set as a property, shown as text).
 *
 * This module is the retained-by-cell list; the site table is sites/siteTable.ts and the filter bar
 * sites/query.ts, both re-exported here for the views.
 */
import type { IFrame, IRetained } from '../comm/protocol';
import { formatBytes } from '../format/bytes';
import { displayText, firstSourceLine } from '../format/text';
import { element, lazyToggle } from './elements';
import { cutMessage, matchesText } from './listing';
import type { SiteQuery } from './query';
import { ISiteFilter } from './siteFilter';
import { createSiteList } from './siteTable';
import { siteRow, SourceLookup } from './sites';

export { createSiteQueryBar, SiteQuery } from './query';
export { createSiteList, hiddenToggleLabel, isPlainClick } from './siteTable';
export type { ISiteListOptions } from './siteTable';

/**
 * Options of {@link createRetainedList}.
 */
export interface IRetainedListOptions {
  /**
   * Finds a cell run's source (for each cell's first line and the sites' lines).
   */
  readonly lookup: SourceLookup;
  /**
   * Called when a site or frame is activated.
   */
  readonly onNavigate?: (frame: IFrame) => void;
  /**
   * Whether a frame can be navigated to (see {@link ISiteListOptions.canNavigate}).
   */
  readonly canNavigate?: (frame: IFrame) => boolean;
  /**
   * Which sites of each cell are hidden at first (default: none).
   */
  readonly filter?: ISiteFilter;
  /**
   * The filter text and "my code only" of the view.
   */
  readonly query?: SiteQuery;
  /**
   * Whether a frame is the user's code.
   */
  readonly isMine?: (frame: IFrame) => boolean;
  /**
   * Cells listed at first; "show all" lists the rest (default {@link RETAINED_CELLS_SHOWN}).
   */
  readonly cellsShown?: number;
  /**
   * Said after the cut note when the kernel itself sent only part of the cells.
   */
  readonly kernelCut?: string;
}

/**
 * Cells a retained-by-cell list shows before "show all".
 */
export const RETAINED_CELLS_SHOWN = 25;

/**
 * The heap alive now by allocating cell: one row per cell, expandable to its sites.
 *
 * @param entries - the retained-by-cell entries, largest first.
 * @param options - source lookup and navigation.
 * @returns a `<div class="jp-heapscope-RetainedTable">` holding an
 *   `<ol class="jp-heapscope-RetainedList">`, or a paragraph when there are none.
 */
export function createRetainedList(entries: ReadonlyArray<IRetained>, options: IRetainedListOptions): HTMLElement {
  if (entries.length === 0) {
    return element('p', 'jp-heapscope-Empty', 'No memory is held by any cell.');
  }
  const total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
  const container = element('div', 'jp-heapscope-RetainedTable');
  const note = element('p', 'jp-heapscope-RetainedTable-cut');
  const list = element('ol', 'jp-heapscope-RetainedList');
  container.append(note, list);
  let all = false;
  const render = () => {
    const text = options.query?.text ?? '';
    const matching = text.trim()
      ? entries.filter(
          entry =>
            retainedLabel(entry, options.lookup).toLowerCase().includes(text.trim().toLowerCase()) ||
            entry.sites.some(site => matchesText(siteRow(site, entry.bytes, options.lookup), site, text))
        )
      : entries;
    const limit = all ? matching.length : (options.cellsShown ?? RETAINED_CELLS_SHOWN);
    const shown = matching.slice(0, limit);
    list.replaceChildren(...shown.map(entry => Private.retainedItem(entry, total, options)));
    note.textContent = '';
    const cut = cutMessage(shown.length, matching.length);
    if (cut) {
      note.append(cut, ' · ');
      const button = element('button', 'jp-heapscope-RetainedTable-all', 'show all');
      button.type = 'button';
      button.addEventListener('click', () => {
        all = true;
        render();
      });
      note.appendChild(button);
    }
    if (options.kernelCut) {
      note.append(cut ? ' · ' : '', options.kernelCut);
    }
    if (matching.length === 0) {
      note.textContent = 'No cell matches the filter.';
    }
    note.hidden = note.textContent === '';
  };
  options.query?.connect(render);
  render();
  return container;
}

/**
 * The label of a retained-by-cell entry: `[3] x = np.ones(…)`, or `outside cells`.
 *
 * @param entry - the entry.
 * @param lookup - finds the cell's source.
 */
export function retainedLabel(entry: IRetained, lookup: SourceLookup): string {
  if (entry.cell_id === null && (entry.seq === null || entry.seq === undefined)) {
    return 'outside cells (start-up, between cells)';
  }
  const count = `[${entry.execution_count ?? '?'}]`;
  const source = entry.cell_id === null ? undefined : lookup(entry.cell_id, entry.execution_count);
  return source === undefined ? count : `${count} ${displayText(firstSourceLine(source), 80)}`;
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * One retained-by-cell entry: its row; its sites are drawn when first expanded.
   */
  export function retainedItem(entry: IRetained, total: number, options: IRetainedListOptions): HTMLElement {
    const item = element('li', 'jp-heapscope-Retained');
    const row = element('div', 'jp-heapscope-Retained-row');
    const body = element('div', 'jp-heapscope-Retained-main');
    body.append(
      element('span', 'jp-heapscope-Site-bytes', formatBytes(entry.bytes)),
      element('span', 'jp-heapscope-Site-percent', total > 0 ? `${Math.round((100 * entry.bytes) / total)} %` : ''),
      element('span', 'jp-heapscope-Retained-cell', retainedLabel(entry, options.lookup))
    );
    if (entry.count !== undefined) {
      body.appendChild(
        element(
          'span',
          'jp-heapscope-Site-count',
          entry.count === 1 ? '1 block' : `${entry.count.toLocaleString('en-US')} blocks`
        )
      );
    }
    const build = () => {
      const sites = createSiteList(entry.sites, {
        base: entry.bytes,
        lookup: options.lookup,
        onNavigate: options.onNavigate,
        canNavigate: options.canNavigate,
        filter: options.filter,
        query: options.query,
        isMine: options.isMine,
        label: retainedLabel(entry, options.lookup),
        emptyText: 'No site details for this cell.'
      });
      sites.classList.add('jp-heapscope-Retained-sites');
      return sites;
    };
    row.append(
      lazyToggle('Show the sites', () => row, build),
      body
    );
    item.appendChild(row);
    return item;
  }
}
