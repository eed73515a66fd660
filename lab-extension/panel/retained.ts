/**
 * The "Retained by cell" view of the Heap panel: the heap alive now, split by the cell that
 * allocated it, each expandable to its sites.
 */
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import type { IFrame } from '../comm/protocol';
import type { HeapModel } from '../model/model';
import { createRetainedList } from '../sites/dom';
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
    this._content = new Widget();
    this._content.addClass('jp-heapscope-RetainedView-content');
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
    const heading = document.createElement('p');
    heading.className = 'jp-heapscope-Detail-facts';
    heading.textContent = trans.__('The heap alive now, by the cell that allocated it.');
    node.appendChild(heading);
    const session = this.session;
    const entries = session?.model.retainedByCell ?? null;
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
        filter: this._options.filter()
      })
    );
  }

  private _options: RetainedView.IOptions;
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
}
