/**
 * The site table shared by the Heap panel and the exported report's viewer (sites/dom.ts re-exports
 * it): a header of sortable columns and copy buttons, one row per site with an expandable stack. It
 * filters (the view's {@link SiteQuery}, the hidden sites), sorts and pages itself. Every kernel string
 * goes in through `textContent`; no kernel string becomes an attribute other than `title` (set as a
 * property, shown as text).
 *
 * A list stays small in the DOM whatever its length: the first {@link PAGE_SIZE} rows are drawn
 * ("show more" draws more), a stack is drawn when it is first expanded, and the sites hidden at
 * first (small or kernel-internal) only when they are shown.
 */
import type { IFrame, ISite } from '../comm/protocol';
import { displayText } from '../format/text';
import { copyText } from './clipboard';
import { button, element, lazyToggle } from './elements';
import {
  ariaSort,
  DEFAULT_SORT,
  ISiteSort,
  matchesText,
  myCodeSites,
  nextSort,
  PAGE_SIZE,
  rowsToMarkdown,
  rowsToTsv,
  rowText,
  showMoreLabel,
  SortKey,
  sortSites
} from './listing';
import type { SiteQuery } from './query';
import { ISiteFilter, NO_SITE_FILTER, partitionSites } from './siteFilter';
import { frameLocation, frameSource, ISiteRow, siteRow, SourceLookup } from './sites';

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
   * Called when a row or a stack frame is activated; without it nothing jumps.
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
  /**
   * The filter text and "my code only" of the view (default: none).
   */
  readonly query?: SiteQuery;
  /**
   * Whether a frame is the user's code (`listing.isMyCodeFrame`); needed for "my code only".
   */
  readonly isMine?: (frame: IFrame) => boolean;
  /**
   * Rows drawn at first and per "show more" (default {@link PAGE_SIZE}).
   */
  readonly pageSize?: number;
  /**
   * The list's name, for assistive technology and the copied Markdown.
   */
  readonly label?: string;
}

/**
 * A list of sites: a header of sortable columns (bytes, blocks, location) and copy buttons, one
 * row per site (bytes, share, location, function, blocks, source line) with an expandable stack.
 *
 * @param sites - the sites, largest first.
 * @param options - percentages, source lookup, navigation, filter and paging.
 * @returns a `<div class="jp-heapscope-SiteTable">` holding an `<ol class="jp-heapscope-SiteList">`,
 *   or a paragraph when there are no sites.
 */
export function createSiteList(sites: ReadonlyArray<ISite>, options: ISiteListOptions): HTMLElement {
  if (sites.length === 0) {
    return element('p', 'jp-heapscope-Empty', options.emptyText ?? 'No sites.');
  }
  return new Private.SiteTable(sites, options).node;
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
 * Whether a click on a row is a plain click, to jump from: not the end of a drag (selecting
 * text) and with no text selected in the row.
 *
 * @param down - where the pointer went down, or null when unknown.
 * @param up - where the click happened.
 * @param selected - the page's selected text.
 */
export function isPlainClick(
  down: { x: number; y: number } | null,
  up: { x: number; y: number },
  selected: string
): boolean {
  if (selected !== '') {
    return false;
  }
  return down === null || Math.hypot(up.x - down.x, up.y - down.y) <= Private.DRAG_PX;
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * Pointer movement above which a press is a drag (text selection), not a click.
   */
  export const DRAG_PX = 4;

  /**
   * Jump from a plain click on `node` (not from a drag that selects text, nor while text is
   * selected); buttons inside handle their own clicks.
   */
  export function jumpOnPlainClick(node: HTMLElement, jump: () => void): void {
    let down: { x: number; y: number } | null = null;
    node.addEventListener('pointerdown', event => {
      down = { x: event.clientX, y: event.clientY };
    });
    node.addEventListener('click', event => {
      if ((event.target as Element | null)?.closest?.('button')) {
        return;
      }
      const selected = typeof window !== 'undefined' ? (window.getSelection()?.toString() ?? '') : '';
      if (isPlainClick(down, { x: event.clientX, y: event.clientY }, selected)) {
        jump();
      }
      down = null;
    });
  }

  /**
   * The place of a frame: a button that jumps when it can be navigated to, else text.
   */
  function place(
    className: string,
    frame: IFrame,
    text: string,
    options: Pick<ISiteListOptions, 'onNavigate' | 'canNavigate'>
  ): HTMLElement {
    const onNavigate = options.onNavigate;
    if (!onNavigate || (options.canNavigate && !options.canNavigate(frame))) {
      return element('span', className, text);
    }
    const node = button(`${className} jp-heapscope-Jump`, text);
    node.title = 'Go to this line';
    node.addEventListener('click', () => onNavigate(frame));
    return node;
  }

  /**
   * Whether a frame can be jumped to.
   */
  function navigable(frame: IFrame, options: Pick<ISiteListOptions, 'onNavigate' | 'canNavigate'>): boolean {
    return !!options.onNavigate && (!options.canNavigate || options.canNavigate(frame));
  }

  /**
   * The stack of a site, one row per frame.
   */
  function stackList(site: ISite, options: ISiteListOptions): HTMLElement {
    const stack = element('ol', 'jp-heapscope-Stack');
    for (const frame of site.stack) {
      const li = element('li', 'jp-heapscope-Frame');
      const canJump = navigable(frame, options);
      const body = element('div', canJump ? 'jp-heapscope-Frame-main jp-mod-navigable' : 'jp-heapscope-Frame-main');
      body.append(
        element('span', 'jp-heapscope-Site-function', displayText(frame.function, 200)),
        place('jp-heapscope-Site-location', frame, frameLocation(frame, 64), options)
      );
      const source = frameSource(frame, options.lookup);
      if (source) {
        body.appendChild(element('code', 'jp-heapscope-Site-source', source));
      }
      if (canJump) {
        jumpOnPlainClick(body, () => options.onNavigate!(frame));
      }
      li.appendChild(body);
      stack.appendChild(li);
    }
    if (site.stack.length === 0) {
      stack.appendChild(element('li', 'jp-heapscope-Empty', 'No Python stack.'));
    }
    return stack;
  }

  /**
   * A copy icon (two overlapping sheets), drawn in the text colour.
   */
  export function copyGlyph(): SVGSVGElement {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 16 16');
    svg.setAttribute('width', '12');
    svg.setAttribute('height', '12');
    svg.setAttribute('aria-hidden', 'true');
    for (const [x, y] of [
      [2, 5],
      [5, 2]
    ]) {
      const rect = document.createElementNS(ns, 'rect');
      rect.setAttribute('x', String(x));
      rect.setAttribute('y', String(y));
      rect.setAttribute('width', '9');
      rect.setAttribute('height', '9');
      rect.setAttribute('rx', '1');
      rect.setAttribute('fill', 'none');
      rect.setAttribute('stroke', 'currentColor');
      rect.setAttribute('stroke-width', '1.5');
      svg.appendChild(rect);
    }
    return svg;
  }

  /**
   * Copy, and say the result for a moment in the button's tooltip and, for a text button, its text.
   */
  export function copyInto(node: HTMLButtonElement, text: string): void {
    const label = node.textContent;
    const title = node.title;
    void copyText(text).then(copied => {
      const said = copied ? 'Copied' : 'Copy failed';
      node.title = said;
      node.dataset.copied = String(copied);
      if (label) {
        node.textContent = said;
      }
      setTimeout(() => {
        node.title = title;
        delete node.dataset.copied;
        if (label) {
          node.textContent = label;
        }
      }, 1500);
    });
  }

  /**
   * One site: its row; its stack is drawn when first expanded.
   */
  export function siteItem(site: ISite, text: ISiteRow, options: ISiteListOptions): HTMLElement {
    const item = element('li', 'jp-heapscope-Site');
    const row = element('div', 'jp-heapscope-Site-row');
    const canJump = navigable(site, options);
    const main = element('div', canJump ? 'jp-heapscope-Site-main jp-mod-navigable' : 'jp-heapscope-Site-main');
    main.title = `${text.fileLineFull} in ${text.function}`;
    const head = element('span', 'jp-heapscope-Site-head');
    head.append(
      element('span', 'jp-heapscope-Site-bytes', text.bytes),
      element('span', 'jp-heapscope-Site-percent', text.percent),
      place('jp-heapscope-Site-location', site, text.location, options),
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
    if (canJump) {
      jumpOnPlainClick(main, () => options.onNavigate!(site));
    }
    const copy = button('jp-heapscope-Site-copy', '', 'Copy this site as text');
    copy.appendChild(copyGlyph());
    copy.addEventListener('click', () => copyInto(copy, rowText(text) + '\n'));
    row.append(
      lazyToggle(
        'Show the stack',
        () => row,
        () => stackList(site, options)
      ),
      main,
      copy
    );
    item.appendChild(row);
    return item;
  }

  /**
   * A site list that filters, sorts and pages itself.
   */
  export class SiteTable {
    constructor(sites: ReadonlyArray<ISite>, options: ISiteListOptions) {
      this._sites = sites;
      this._options = options;
      this.node = element('div', 'jp-heapscope-SiteTable');
      this._head = element('div', 'jp-heapscope-SiteTable-head');
      this._head.setAttribute('role', 'row');
      for (const [key, title] of [
        ['bytes', 'Bytes'],
        ['count', 'Blocks'],
        ['location', 'Location']
      ] as [SortKey, string][]) {
        const header = element('span', 'jp-heapscope-SiteTable-column');
        header.setAttribute('role', 'columnheader');
        header.dataset.sort = key;
        const sortButton = button('jp-heapscope-SiteTable-sort', title);
        sortButton.addEventListener('click', () => {
          this._sort = nextSort(this._sort, key);
          this._render();
        });
        header.appendChild(sortButton);
        this._head.appendChild(header);
      }
      const tsv = button('jp-heapscope-SiteTable-copy', 'TSV', 'Copy the list as tab-separated text');
      tsv.dataset.format = 'tsv';
      tsv.addEventListener('click', () => copyInto(tsv, rowsToTsv(this._rows())));
      const markdown = button('jp-heapscope-SiteTable-copy', 'MD', 'Copy the list as a Markdown table');
      markdown.dataset.format = 'markdown';
      markdown.addEventListener('click', () => {
        const title = options.label ? `**${options.label}**\n\n` : '';
        copyInto(markdown, title + rowsToMarkdown(this._rows()));
      });
      const copyGroup = element('span', 'jp-heapscope-SiteTable-copies');
      copyGroup.append(element('span', 'jp-heapscope-SiteTable-copyLabel', 'Copy'), tsv, markdown);
      this._head.appendChild(copyGroup);
      this._list = element('ol', 'jp-heapscope-SiteList');
      if (options.label) {
        this._list.setAttribute('aria-label', options.label);
      }
      this._more = button('jp-heapscope-SiteList-showMore', '');
      this._more.addEventListener('click', () => {
        this._limit += this._page;
        this._render();
      });
      this._empty = element('p', 'jp-heapscope-Empty', 'No site matches the filter.');
      this.node.append(this._head, this._list, this._more, this._empty);
      this._page = options.pageSize ?? PAGE_SIZE;
      this._limit = this._page;
      options.query?.connect(() => {
        this._limit = this._page;
        this._render();
      });
      this._render();
    }

    readonly node: HTMLElement;

    /**
     * The sites after "my code only", the text filter and the sort, split into those shown at
     * first and those behind the hidden toggle.
     */
    private _select(): { shown: ISite[]; hidden: ISite[] } {
      const options = this._options;
      const query = options.query;
      const mine = query?.myCode && options.isMine ? myCodeSites(this._sites, options.isMine) : this._sites;
      const { shown, hidden } = partitionSites(mine, options.base, options.filter ?? NO_SITE_FILTER);
      const text = query?.text ?? '';
      const keep = (site: ISite) => matchesText(this._row(site), site, text);
      return { shown: sortSites(shown.filter(keep), this._sort), hidden: sortSites(hidden.filter(keep), this._sort) };
    }

    /**
     * The rows a copy takes: every matching row (also beyond "show more"), hidden ones only when
     * they are shown.
     */
    private _rows(): ISiteRow[] {
      const { shown, hidden } = this._select();
      return (this._hiddenOpen ? [...shown, ...hidden] : shown).map(site => this._row(site));
    }

    private _row(site: ISite): ISiteRow {
      let row = this._rowCache.get(site);
      if (!row) {
        row = siteRow(site, this._options.base, this._options.lookup);
        this._rowCache.set(site, row);
      }
      return row;
    }

    private _render(): void {
      for (const header of Array.from(this._head.querySelectorAll<HTMLElement>('[role="columnheader"]'))) {
        header.setAttribute('aria-sort', ariaSort(this._sort, header.dataset.sort as SortKey));
      }
      const { shown, hidden } = this._select();
      const items: HTMLElement[] = [];
      let budget = this._limit;
      for (const site of shown.slice(0, budget)) {
        items.push(siteItem(site, this._row(site), this._options));
      }
      budget -= Math.min(budget, shown.length);
      if (hidden.length > 0) {
        items.push(this._hiddenToggle(hidden.length, shown.length === 0));
        if (this._hiddenOpen) {
          for (const site of hidden.slice(0, budget)) {
            const item = siteItem(site, this._row(site), this._options);
            item.classList.add('jp-mod-filtered');
            items.push(item);
          }
        }
      }
      // Re-inserting the toggle would drop its focus: give it back.
      const focused = this._toggle !== null && document.activeElement === this._toggle;
      this._list.replaceChildren(...items);
      if (focused && this._toggle!.isConnected) {
        this._toggle!.focus();
      }
      const total = shown.length + (this._hiddenOpen ? hidden.length : 0);
      const label = showMoreLabel(Math.min(this._limit, total), total, this._page);
      this._more.textContent = label;
      this._more.hidden = label === '';
      this._empty.hidden = shown.length + hidden.length > 0;
    }

    /**
     * The row of a list's hidden sites: a button that shows and hides them (one element for the
     * list's life, so it keeps the focus).
     */
    private _hiddenToggle(count: number, nothingShown: boolean): HTMLElement {
      if (!this._toggleItem) {
        this._toggleItem = element('li', 'jp-heapscope-SiteList-more');
        this._toggleNote = element('span', 'jp-heapscope-Empty', 'Only small or kernel-internal sites.');
        this._toggle = button('jp-heapscope-SiteList-toggle', '');
        this._toggle.addEventListener('click', () => {
          this._hiddenOpen = !this._hiddenOpen;
          this._render();
        });
        this._toggleItem.append(this._toggleNote, this._toggle);
      }
      this._toggleNote!.hidden = !nothingShown;
      this._toggle!.textContent = hiddenToggleLabel(count, this._hiddenOpen);
      this._toggle!.setAttribute('aria-expanded', String(this._hiddenOpen));
      return this._toggleItem;
    }

    private _toggleItem: HTMLElement | null = null;
    private _toggleNote: HTMLElement | null = null;
    private _toggle: HTMLButtonElement | null = null;
    private _sites: ReadonlyArray<ISite>;
    private _options: ISiteListOptions;
    private _head: HTMLElement;
    private _list: HTMLOListElement;
    private _more: HTMLButtonElement;
    private _empty: HTMLElement;
    private _sort: ISiteSort = DEFAULT_SORT;
    private _page: number;
    private _limit: number;
    private _hiddenOpen = false;
    private _rowCache = new WeakMap<ISite, ISiteRow>();
  }
}
