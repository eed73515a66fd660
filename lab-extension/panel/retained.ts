/**
 * The "Retained by cell" view of the Heap panel: the heap alive now, split by the cell that
 * allocated it, each expandable to its sites.
 */
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import type { IFrame } from '../comm/protocol';
import type { HeapModel } from '../model/model';
import { createRetainedList } from '../report/dom';
import type { IHeapSession } from '../tracker/tokens';
import type { CellDetailView } from './detail';

/**
 * Shows the retained-by-cell split of a session; asks the kernel again after every finished cell
 * while visible.
 */
export class RetainedView extends Widget {
  /**
   * Construct the view.
   *
   * @param options - navigation, source lookup and translations.
   */
  constructor(options: RetainedView.IOptions) {
    super();
    this._options = options;
    this.addClass('jp-heapscope-RetainedView');
    this._render();
  }

  /**
   * The session shown.
   */
  get session(): IHeapSession | null {
    return this._session;
  }
  set session(session: IHeapSession | null) {
    if (session === this._session) {
      return;
    }
    this._session?.model.changed.disconnect(this._onModelChanged, this);
    this._session = session;
    session?.model.changed.connect(this._onModelChanged, this);
    this._request();
    this._render();
  }

  /**
   * Dispose of the view (idempotent).
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.session = null;
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    this._request();
    this._render();
  }

  private _request(): void {
    if (this._session && this.isVisible) {
      this._session.requestRetained(this._options.limit());
    }
  }

  private _onModelChanged(_: HeapModel, args: HeapModel.IChangedArgs): void {
    if (args.kind === 'cell' || args.kind === 'history') {
      this._request();
    }
    if (args.kind === 'retained' || args.kind === 'history' || args.kind === 'clear') {
      this._render();
    }
  }

  private _render(): void {
    const trans = this._options.trans;
    const node = this.node;
    node.textContent = '';
    const heading = document.createElement('p');
    heading.className = 'jp-heapscope-Detail-facts';
    heading.textContent = trans.__('The heap alive now, by the cell that allocated it.');
    node.appendChild(heading);
    const session = this._session;
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
        onNavigate: (frame: IFrame) => this._options.navigate(session, frame)
      })
    );
  }

  private _options: RetainedView.IOptions;
  private _session: IHeapSession | null = null;
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
