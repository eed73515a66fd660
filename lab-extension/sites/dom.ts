/**
 * DOM for site tables and the retained-by-cell list, shared by the Heap panel and the exported
 * report's viewer. Every kernel string goes in through `textContent`; no kernel string becomes an
 * attribute other than `title` (set as a property, shown as text).
 */
import type { IFrame, IRetained, ISite } from '../comm/protocol';
import { formatBytes } from '../format/bytes';
import { displayText, firstSourceLine } from '../format/text';
import { ISiteFilter, NO_SITE_FILTER, partitionSites } from './siteFilter';
import { frameLocation, frameSource, siteRow, SourceLookup } from './sites';

/**
 * Options of {@link createSiteList}.
 */
export interface ISiteListOptions {
  /**
   * The denominator of the percentages (see `peakBase`).
   */
  readonly base: number;
  /**
   * Finds a cell run's source (for the source line's text).
   */
  readonly lookup: SourceLookup;
  /**
   * Called when a row or a stack frame is activated; without it rows are not buttons.
   */
  readonly onNavigate?: (frame: IFrame) => void;
  /**
   * Whether a frame can be navigated to (default: every frame when `onNavigate` is set); the
   * others are shown as text, not as buttons.
   */
  readonly canNavigate?: (frame: IFrame) => boolean;
  /**
   * Which sites are hidden at first behind a "show N hidden" toggle (default: none).
   */
  readonly filter?: ISiteFilter;
  /**
   * Shown when there are no sites.
   */
  readonly emptyText?: string;
}

/**
 * A list of sites: one row per site (bytes, share, location, function, blocks, source line) with
 * an expandable stack.
 *
 * @param sites - the sites, largest first.
 * @param options - percentages, source lookup and navigation.
 * @returns an `<ol class="jp-heapscope-SiteList">`, or a paragraph when there are no sites.
 */
export function createSiteList(sites: ReadonlyArray<ISite>, options: ISiteListOptions): HTMLElement {
  if (sites.length === 0) {
    return Private.element('p', 'jp-heapscope-Empty', options.emptyText ?? 'No sites.');
  }
  const list = Private.element('ol', 'jp-heapscope-SiteList');
  const { shown, hidden } = partitionSites(sites, options.base, options.filter ?? NO_SITE_FILTER);
  for (const site of shown) {
    list.appendChild(Private.siteItem(site, options));
  }
  if (hidden.length > 0) {
    const items = hidden.map(site => {
      const item = Private.siteItem(site, options);
      item.classList.add('jp-mod-filtered');
      item.hidden = true;
      return item;
    });
    list.appendChild(Private.hiddenToggle(items, shown.length === 0));
    list.append(...items);
  }
  return list;
}

/**
 * The label of the toggle that shows or hides the filtered sites of a list.
 *
 * @param count - how many sites are hidden.
 * @param open - whether they are shown now.
 */
export function hiddenToggleLabel(count: number, open: boolean): string {
  const sites = count === 1 ? '1 hidden site' : `${count} hidden sites`;
  return open ? `Hide ${sites} (small or kernel-internal)` : `Show ${sites} (small or kernel-internal)`;
}

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
}

/**
 * The heap alive now by allocating cell: one row per cell, expandable to its sites.
 *
 * @param entries - the retained-by-cell entries, largest first.
 * @param options - source lookup and navigation.
 * @returns an `<ol class="jp-heapscope-RetainedList">`, or a paragraph when there are none.
 */
export function createRetainedList(entries: ReadonlyArray<IRetained>, options: IRetainedListOptions): HTMLElement {
  if (entries.length === 0) {
    return Private.element('p', 'jp-heapscope-Empty', 'No memory is held by any cell.');
  }
  const total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
  const list = Private.element('ol', 'jp-heapscope-RetainedList');
  for (const entry of entries) {
    const item = Private.element('li', 'jp-heapscope-Retained');
    const row = Private.element('div', 'jp-heapscope-Retained-row');
    const body = Private.element('div', 'jp-heapscope-Retained-main');
    body.append(
      Private.element('span', 'jp-heapscope-Site-bytes', formatBytes(entry.bytes)),
      Private.element(
        'span',
        'jp-heapscope-Site-percent',
        total > 0 ? `${Math.round((100 * entry.bytes) / total)} %` : ''
      ),
      Private.element('span', 'jp-heapscope-Retained-cell', retainedLabel(entry, options.lookup))
    );
    if (entry.count !== undefined) {
      body.appendChild(
        Private.element(
          'span',
          'jp-heapscope-Site-count',
          entry.count === 1 ? '1 block' : `${entry.count.toLocaleString('en-US')} blocks`
        )
      );
    }
    const stack = createSiteList(entry.sites, {
      base: entry.bytes,
      lookup: options.lookup,
      onNavigate: options.onNavigate,
      canNavigate: options.canNavigate,
      filter: options.filter,
      emptyText: 'No site details for this cell.'
    });
    stack.classList.add('jp-heapscope-Retained-sites');
    row.append(Private.toggle(stack, 'Show the sites'), body);
    item.append(row, stack);
    list.appendChild(item);
  }
  return list;
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
   * Create an element with a class and, optionally, text.
   */
  export function element<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    className: string,
    text?: string
  ): HTMLElementTagNameMap[K] {
    const node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  /**
   * A disclosure button that shows and hides `target`.
   */
  export function toggle(target: HTMLElement, label: string): HTMLButtonElement {
    const button = element('button', 'jp-heapscope-Toggle', '▸');
    button.type = 'button';
    button.title = label;
    button.setAttribute('aria-label', label);
    button.setAttribute('aria-expanded', 'false');
    target.hidden = true;
    button.addEventListener('click', () => {
      const open = target.hidden;
      target.hidden = !open;
      button.textContent = open ? '▾' : '▸';
      button.setAttribute('aria-expanded', String(open));
    });
    return button;
  }

  /**
   * The row of a list's hidden sites: a button that shows and hides them.
   */
  export function hiddenToggle(items: HTMLElement[], nothingShown: boolean): HTMLElement {
    const li = element('li', 'jp-heapscope-SiteList-more');
    if (nothingShown) {
      li.appendChild(element('span', 'jp-heapscope-Empty', 'Only small or kernel-internal sites.'));
    }
    const button = element('button', 'jp-heapscope-SiteList-toggle', hiddenToggleLabel(items.length, false));
    button.type = 'button';
    button.setAttribute('aria-expanded', 'false');
    button.addEventListener('click', () => {
      const open = button.getAttribute('aria-expanded') !== 'true';
      for (const item of items) {
        item.hidden = !open;
      }
      button.textContent = hiddenToggleLabel(items.length, open);
      button.setAttribute('aria-expanded', String(open));
    });
    li.appendChild(button);
    return li;
  }

  /**
   * The row or button body: a button when navigation is possible.
   */
  function activatable(
    className: string,
    frame: IFrame,
    onNavigate: ((frame: IFrame) => void) | undefined,
    canNavigate: ((frame: IFrame) => boolean) | undefined
  ): HTMLElement {
    if (!onNavigate || (canNavigate && !canNavigate(frame))) {
      return element('div', className);
    }
    const button = element('button', `${className} jp-mod-navigable`);
    button.type = 'button';
    button.addEventListener('click', () => onNavigate(frame));
    return button;
  }

  /**
   * One site: its row and its stack.
   */
  export function siteItem(site: ISite, options: ISiteListOptions): HTMLElement {
    const text = siteRow(site, options.base, options.lookup);
    const item = element('li', 'jp-heapscope-Site');
    const row = element('div', 'jp-heapscope-Site-row');
    const main = activatable('jp-heapscope-Site-main', site, options.onNavigate, options.canNavigate);
    main.title = `${text.fileLineFull} in ${text.function}`;
    const head = element('span', 'jp-heapscope-Site-head');
    head.append(
      element('span', 'jp-heapscope-Site-bytes', text.bytes),
      element('span', 'jp-heapscope-Site-percent', text.percent),
      element('span', 'jp-heapscope-Site-location', text.location),
      element('span', 'jp-heapscope-Site-count', text.count)
    );
    const where = element('span', 'jp-heapscope-Site-where');
    where.append(
      element('span', 'jp-heapscope-Site-function', text.function),
      element('span', 'jp-heapscope-Site-file', text.fileLine)
    );
    main.append(head, where);
    if (text.source) {
      main.appendChild(element('code', 'jp-heapscope-Site-source', text.source));
    }
    const stack = element('ol', 'jp-heapscope-Stack');
    for (const frame of site.stack) {
      const li = element('li', 'jp-heapscope-Frame');
      const body = activatable('jp-heapscope-Frame-main', frame, options.onNavigate, options.canNavigate);
      body.append(
        element('span', 'jp-heapscope-Site-function', displayText(frame.function, 200)),
        element('span', 'jp-heapscope-Site-location', frameLocation(frame, 64))
      );
      const source = frameSource(frame, options.lookup);
      if (source) {
        body.appendChild(element('code', 'jp-heapscope-Site-source', source));
      }
      li.appendChild(body);
      stack.appendChild(li);
    }
    if (site.stack.length === 0) {
      stack.appendChild(element('li', 'jp-heapscope-Empty', 'No Python stack.'));
    }
    row.append(toggle(stack, 'Show the stack'), main);
    item.append(row, stack);
    return item;
  }
}
