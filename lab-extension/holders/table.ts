/**
 * The holders table, shared by the Heap panel's Holders view and the exported report's viewer: a
 * header of sortable columns (buttons, `aria-sort`), one row per holder — name, kind, frees if
 * deleted, reachable, type, cell — expandable to what it shares and its top allocation sites (the
 * site list kit, with its jump-to-line), a jump to the cell that bound the name and, for outputs
 * and the traceback, a release button. Every kernel string goes in through `textContent`.
 *
 * No JupyterLab import here: the report's viewer bundles this file.
 */
import type { IFrame, IHolder, IHolders } from '../comm/protocol';
import { button, element, lazyToggle } from '../sites/elements';
import type { SiteQuery } from '../sites/query';
import type { ISiteFilter } from '../sites/siteFilter';
import { createSiteList } from '../sites/siteTable';
import type { SourceLookup } from '../sites/sites';
import {
  canJumpToCell,
  DEFAULT_HOLDER_SORT,
  HOLDER_COLUMNS,
  holderAriaSort,
  holderRow,
  HolderSortKey,
  IHolderSort,
  isReleasable,
  nextHolderSort,
  notableShared,
  sharedSentence,
  sharedWith,
  sortHolders
} from './holders';

/**
 * Options of {@link createHoldersTable}.
 */
export interface IHoldersTableOptions {
  /**
   * Finds a cell run's source (the sites' source lines).
   */
  readonly lookup: SourceLookup;
  /**
   * Jumps to a site's or frame's code; without it nothing jumps.
   */
  readonly onNavigate?: (frame: IFrame) => void;
  /**
   * Whether a frame can be jumped to (default: every frame when `onNavigate` is set).
   */
  readonly canNavigate?: (frame: IFrame) => boolean;
  /**
   * Jumps to the cell that bound a holder; without it the Cell column is text.
   */
  readonly onJumpToCell?: (holder: IHolder) => void;
  /**
   * Whether the cell of a holder can be jumped to (default: when it has a cell id).
   */
  readonly canJumpToCell?: (holder: IHolder) => boolean;
  /**
   * Asks to release an output or the traceback; without it there is no release button.
   */
  readonly onRelease?: (holder: IHolder) => void;
  /**
   * Which sites are hidden at first (default: none).
   */
  readonly filter?: ISiteFilter;
  /**
   * The filter text and "my code only" of the sites lists.
   */
  readonly query?: SiteQuery;
  /**
   * Whether a frame is the user's code (for "my code only").
   */
  readonly isMine?: (frame: IFrame) => boolean;
  /**
   * The order at first (default: frees if deleted, largest first).
   */
  readonly sort?: IHolderSort;
  /**
   * Called when the user sorts (a view keeps the order across redraws).
   */
  readonly onSort?: (sort: IHolderSort) => void;
  /**
   * The names whose rows are expanded at first (a view keeps them across redraws).
   */
  readonly expanded?: ReadonlySet<string>;
  /**
   * Called when a row is expanded or collapsed.
   */
  readonly onExpand?: (name: string, open: boolean) => void;
}

/**
 * The most holders drawn before "show all".
 */
export const HOLDERS_SHOWN = 100;

/**
 * The sentences about shared memory: "a and b share 80 MB; deleting both frees it."
 *
 * @param holders - the kernel's answer.
 * @returns a `<ul class="jp-heapscope-Holders-shared">`, or null when nothing notable is shared.
 */
export function createSharedList(holders: IHolders): HTMLElement | null {
  const groups = notableShared(holders.shared);
  if (groups.length === 0) {
    return null;
  }
  const list = element('ul', 'jp-heapscope-Holders-shared');
  list.setAttribute('aria-label', 'Shared memory');
  for (const group of groups.slice(0, Private.SHARED_SHOWN)) {
    list.appendChild(element('li', 'jp-heapscope-Holders-sharedItem', sharedSentence(group)));
  }
  if (groups.length > Private.SHARED_SHOWN) {
    list.appendChild(
      element('li', 'jp-heapscope-Empty', `${groups.length - Private.SHARED_SHOWN} more groups share smaller amounts.`)
    );
  }
  return list;
}

/**
 * The holders table.
 *
 * @param holders - the kernel's answer.
 * @param options - navigation, release and the sites lists' options.
 * @returns a `<div class="jp-heapscope-HoldersTable" role="table">`, or a paragraph when there are
 *   no holders.
 */
export function createHoldersTable(holders: IHolders, options: IHoldersTableOptions): HTMLElement {
  if (holders.holders.length === 0) {
    return element('p', 'jp-heapscope-Empty', 'No holders: nothing in your namespace keeps memory alive.');
  }
  return new Private.HoldersTable(holders, options).node;
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * Shared groups said before "N more".
   */
  export const SHARED_SHOWN = 5;

  /**
   * One holder: its row, and when expanded what it shares and its sites.
   */
  function holderItem(holders: IHolders, holder: IHolder, options: IHoldersTableOptions): HTMLElement {
    const text = holderRow(holder);
    const item = element('div', 'jp-heapscope-Holder');
    item.setAttribute('role', 'rowgroup');
    item.dataset.name = holder.name;
    item.dataset.kind = holder.kind;
    const row = element('div', 'jp-heapscope-Holder-row');
    row.setAttribute('role', 'row');
    const cell = (className: string, content: string | HTMLElement, column: HolderSortKey | null) => {
      const node = element('span', `jp-heapscope-Holder-${className}`);
      node.setAttribute('role', 'cell');
      if (column) {
        node.dataset.column = column;
      }
      if (typeof content === 'string') {
        node.textContent = content;
      } else {
        node.appendChild(content);
      }
      return node;
    };
    const toggleCell = element('span', 'jp-heapscope-Holder-toggle');
    toggleCell.setAttribute('role', 'cell');
    const detail = () => {
      const body = element('div', 'jp-heapscope-Holder-detail');
      for (const sentence of sharedWith(holder.name, holders.shared)) {
        body.appendChild(element('p', 'jp-heapscope-Holder-note', sentence));
      }
      if (holder.kind === 'other') {
        body.appendChild(
          element(
            'p',
            'jp-heapscope-Holder-note',
            'Modules, library caches, the interpreter and what C code holds: no name of yours keeps it alive.'
          )
        );
      }
      const sites = createSiteList(holder.sites, {
        base: holder.reachable_bytes,
        lookup: options.lookup,
        onNavigate: options.onNavigate,
        canNavigate: options.canNavigate,
        filter: options.filter,
        query: options.query,
        isMine: options.isMine,
        label: `${text.name} · where its memory was allocated`,
        emptyText: 'No allocation sites known for it (small objects, or blocks the profiler did not record).'
      });
      sites.classList.add('jp-heapscope-Holder-sites');
      body.appendChild(sites);
      return body;
    };
    const toggle = lazyToggle(`Show what ${text.name} holds`, () => row, detail);
    toggle.addEventListener('click', () =>
      options.onExpand?.(holder.name, toggle.getAttribute('aria-expanded') === 'true')
    );
    toggleCell.appendChild(toggle);

    const jumpable =
      !!options.onJumpToCell && (options.canJumpToCell ? options.canJumpToCell(holder) : canJumpToCell(holder));
    let cellContent: string | HTMLElement = text.cell;
    if (jumpable && text.cell) {
      const jump = button('jp-heapscope-Holder-jump jp-heapscope-Jump', text.cell);
      jump.title =
        holder.kind === 'output' ? 'Go to the cell that displayed it' : 'Go to the cell that bound this name';
      jump.setAttribute('aria-label', `${jump.title}: ${text.name}`);
      jump.addEventListener('click', () => options.onJumpToCell!(holder));
      cellContent = jump;
    }
    const name = cell('name', text.name, 'name');
    name.title = holder.name;
    const type = cell('type', text.type, 'type');
    type.title = holder.type;
    const actions = element('span', 'jp-heapscope-Holder-actions');
    actions.setAttribute('role', 'cell');
    if (options.onRelease && isReleasable(holder)) {
      const release = button(
        'jp-heapscope-Holder-release',
        'Release',
        holder.kind === 'traceback'
          ? 'Release the last traceback (asks first)'
          : `Release ${text.name} and its aliases (asks first)`
      );
      release.addEventListener('click', () => options.onRelease!(holder));
      actions.appendChild(release);
    }
    row.append(
      toggleCell,
      name,
      cell('kind', text.kind, 'kind'),
      cell('bytes', text.bytes, 'bytes'),
      cell('reachable', text.reachable, 'reachable'),
      type,
      cell('cell', cellContent, 'cell'),
      actions
    );
    item.appendChild(row);
    if (options.expanded?.has(holder.name)) {
      toggle.click();
    }
    return item;
  }

  /**
   * A holders table that sorts itself and draws the first {@link HOLDERS_SHOWN} rows.
   */
  export class HoldersTable {
    constructor(holders: IHolders, options: IHoldersTableOptions) {
      this._holders = holders;
      this._options = options;
      this._sort = options.sort ?? DEFAULT_HOLDER_SORT;
      this.node = element('div', 'jp-heapscope-HoldersTable');
      this.node.setAttribute('role', 'table');
      this.node.setAttribute('aria-label', 'Who holds the memory');
      const headGroup = element('div', 'jp-heapscope-HoldersTable-headGroup');
      headGroup.setAttribute('role', 'rowgroup');
      this._head = element('div', 'jp-heapscope-HoldersTable-head');
      this._head.setAttribute('role', 'row');
      const blank = element('span', 'jp-heapscope-Holder-toggle');
      blank.setAttribute('role', 'columnheader');
      blank.setAttribute('aria-label', 'Expand');
      this._head.appendChild(blank);
      for (const column of HOLDER_COLUMNS) {
        const header = element('span', 'jp-heapscope-HoldersTable-column');
        header.setAttribute('role', 'columnheader');
        header.dataset.sort = column.key;
        const sortButton = button('jp-heapscope-HoldersTable-sort', column.title, column.caption);
        // The visible words name the column; the caption is its tooltip.
        sortButton.setAttribute('aria-label', `${column.title}: sort`);
        sortButton.addEventListener('click', () => {
          this._sort = nextHolderSort(this._sort, column.key);
          this._options.onSort?.(this._sort);
          this._render();
          // The header is drawn again in place: keep the focus on the button pressed.
          sortButton.focus();
        });
        header.appendChild(sortButton);
        this._head.appendChild(header);
      }
      const actions = element('span', 'jp-heapscope-Holder-actions');
      actions.setAttribute('role', 'columnheader');
      actions.setAttribute('aria-label', 'Actions');
      this._head.appendChild(actions);
      headGroup.appendChild(this._head);
      this._body = element('div', 'jp-heapscope-HoldersTable-body');
      this._body.setAttribute('role', 'rowgroup');
      this._more = button('jp-heapscope-HoldersTable-all', '');
      this._more.addEventListener('click', () => {
        this._all = true;
        this._render();
      });
      this.node.append(headGroup, this._body, this._more);
      this._render();
    }

    readonly node: HTMLElement;

    private _render(): void {
      for (const header of Array.from(this._head.querySelectorAll<HTMLElement>('[data-sort]'))) {
        header.setAttribute('aria-sort', holderAriaSort(this._sort, header.dataset.sort as HolderSortKey));
      }
      const sorted = sortHolders(this._holders.holders, this._sort);
      const shown = this._all ? sorted : sorted.slice(0, HOLDERS_SHOWN);
      this._body.replaceChildren(...shown.map(holder => holderItem(this._holders, holder, this._options)));
      this._more.hidden = shown.length === sorted.length;
      this._more.textContent = `${shown.length} of ${sorted.length} holders shown · show all`;
    }

    private _holders: IHolders;
    private _options: IHoldersTableOptions;
    private _sort: IHolderSort;
    private _head: HTMLElement;
    private _body: HTMLElement;
    private _more: HTMLButtonElement;
    private _all = false;
  }
}
