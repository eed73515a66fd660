/**
 * The Heap panel toolbar's profiler memory figure.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { formatBytes } from '../format/bytes';
import type { HeapModel } from '../model/model';
import type { IHeapSession, IHeapTracker } from '../tracker/tokens';

/**
 * Shows the memory the profiler itself uses in the current notebook's kernel.
 */
export class ProfilerMemory extends Widget {
  /**
   * Construct the figure.
   *
   * @param options - the tracker to follow and translations.
   */
  constructor(options: ProfilerMemory.IOptions) {
    super();
    this._trans = options.trans;
    this.addClass('jp-heapscope-ProfilerMemory');
    this._tracker = options.tracker;
    this._tracker.currentChanged.connect(this._onCurrentChanged, this);
    this._onCurrentChanged(this._tracker, this._tracker.current);
  }

  /**
   * Dispose of the widget (idempotent).
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._session?.model.changed.disconnect(this._refresh, this);
    this._tracker.currentChanged.disconnect(this._onCurrentChanged, this);
    super.dispose();
  }

  private _onCurrentChanged(_: IHeapTracker, session: IHeapSession | null): void {
    this._session?.model.changed.disconnect(this._refresh, this);
    this._session = session;
    session?.model.changed.connect(this._refresh, this);
    this._refresh();
  }

  private _refresh(_?: HeapModel, args?: HeapModel.IChangedArgs): void {
    if (args && args.kind !== 'status' && args.kind !== 'history' && args.kind !== 'clear') {
      return;
    }
    const status = this._session?.model.status;
    if (!status || !status.active) {
      this.node.textContent = '';
      this.node.title = '';
      return;
    }
    this.node.textContent = this._trans.__('profiler %1', formatBytes(status.profiler_bytes));
    let title = this._trans.__(
      'Memory the profiler itself uses in this kernel: %1',
      formatBytes(status.profiler_bytes)
    );
    if (status.tracked_blocks !== undefined) {
      title += '\n' + this._trans.__('%1 allocations tracked', status.tracked_blocks.toLocaleString('en-US'));
    }
    if (status.degraded) {
      title += '\n' + this._trans.__('The profiler ran out of bookkeeping memory: figures may be low.');
    }
    this.node.title = title;
    this.toggleClass('jp-mod-warning', !!status.degraded);
  }

  private _trans: TranslationBundle;
  private _tracker: IHeapTracker;
  private _session: IHeapSession | null = null;
}

/**
 * A namespace for ProfilerMemory statics.
 */
export namespace ProfilerMemory {
  /**
   * The options of the widget.
   */
  export interface IOptions {
    /**
     * The heap tracker.
     */
    tracker: IHeapTracker;
    /**
     * The translation bundle.
     */
    trans: TranslationBundle;
  }
}
