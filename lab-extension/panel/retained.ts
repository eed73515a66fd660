/**
 * The "Retained by cell" view of the Heap panel: the heap alive now, split by the cell that
 * allocated it, each expandable to its sites.
 */
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import type { IFrame } from '../comm/protocol';
import type { HeapModel } from '../model/model';
import { createRetainedList, createSiteQueryBar, SiteQuery } from '../sites/dom';
import { isMyCodeFrame } from '../sites/listing';
import type { CellDetailView } from './detail';
import { SessionView } from './sessionView';

/**
 * Shows the retained-by-cell split of a session; asks the kernel again after every finished cell
 * while visible.
 */
export class RetainedView extends SessionView {
  /**
   * Construct the view.
   *
   * @param options - navigation, source lookup and translations.
   */
  constructor(options: RetainedView.IOptions) {
    super();
    this._options = options;
    this.addClass('jp-heapscope-RetainedView');
    this._queryBar = new Widget({
      node: createSiteQueryBar(this._query, {
        myCodeTitle:
          'Count each site at the innermost line of your code on its stack: notebook cells and files under the server’s root (not installed packages)'
      })
    });
    this._queryBar.addClass('jp-heapscope-Detail-query');
    this._content = new Widget();
    this._content.addClass('jp-heapscope-RetainedView-content');
    this.addWidget(this._queryBar);
    this.addWidget(this._content);
    this._render();
  }

  /**
   * Ask for the new session's split and show it.
   */
  protected onSessionChanged(): void {
    this._request();
    this._render();
  }

  /**
   * Draw the view again (e.g. after the site filter changed).
   */
  refresh(): void {
    this._render();
  }

  protected onAfterShow(_msg: Message): void {
    this._request();
    this._render();
  }

  private _request(): void {
    if (this.session && this.isVisible) {
      this.session.requestRetained(this._options.limit());
    }
  }

  protected onModelChanged(_: HeapModel, args: HeapModel.IChangedArgs): void {
    if (args.kind === 'cell' || args.kind === 'history') {
      this._request();
    }
    if (args.kind === 'retained' || args.kind === 'history' || args.kind === 'clear') {
      this._render();
    }
  }

  private _render(): void {
    const trans = this._options.trans;
    const node = this._content.node;
    node.textContent = '';
    this._query.disconnectAll();
    const heading = document.createElement('p');
    heading.className = 'jp-heapscope-Detail-facts';
    heading.textContent = trans.__('The heap alive now, by the cell that allocated it.');
    node.appendChild(heading);
    const session = this.session;
    const entries = session?.model.retainedByCell ?? null;
    this._queryBar.setHidden(!session || entries === null || entries.length === 0);
    if (!session || entries === null) {
      const empty = document.createElement('p');
      empty.className = 'jp-heapscope-Empty';
      empty.textContent =
        session?.model.status?.attribution === false
          ? trans.__('Not available: this kernel has no line-level attribution.')
          : trans.__('No data yet.');
      node.appendChild(empty);
      return;
    }
    node.appendChild(
      createRetainedList(entries, {
        lookup: this._options.lookup(session),
        onNavigate: (frame: IFrame) => this._options.navigate(session, frame),
        canNavigate: this._options.canNavigate(session),
        filter: this._options.filter(),
        query: this._query,
        isMine: this._options.isMine?.(session) ?? ((frame: IFrame) => isMyCodeFrame(frame)),
        // The kernel sends the largest RETAINED_CELLS (agent/core.py) cells only.
        kernelCut:
          entries.length >= RetainedView.KERNEL_CELLS
            ? trans.__('the kernel lists the %1 largest cells', RetainedView.KERNEL_CELLS)
            : undefined
      })
    );
  }

  private _options: RetainedView.IOptions;
  private _query = new SiteQuery();
  private _queryBar: Widget;
  private _content: Widget;
}

/**
 * A namespace for RetainedView statics.
 */
export namespace RetainedView {
  /**
   * The options of the view: the same as the cell detail view's.
   */
  export type IOptions = CellDetailView.IOptions;

  /**
   * The most cells the kernel lists (`RETAINED_CELLS` in agent/core.py): a list that long may
   * have been cut by the kernel.
   */
  export const KERNEL_CELLS = 100;
}
