/**
 * The heap tracker: one heap session per open notebook, following the current notebook.
 */
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { sameConfiguration } from './configuration';
import { HeapSession } from './session';
import type { IHeapConfiguration, IHeapSession, IHeapTracker } from './tokens';

/**
 * The default {@link IHeapTracker}.
 */
export class HeapTracker implements IHeapTracker, IDisposable {
  /**
   * Construct a tracker; it creates a session for every notebook, open now or later.
   *
   * @param options - the notebook tracker to follow.
   */
  constructor(options: HeapTracker.IOptions) {
    this._notebooks = options.notebookTracker;
    this._notebooks.widgetAdded.connect((_, panel) => this.sessionFor(panel), this);
    this._notebooks.currentChanged.connect(this._onCurrentChanged, this);
    this._notebooks.forEach(panel => this.sessionFor(panel));
  }

  /**
   * The session of the current notebook.
   */
  get current(): IHeapSession | null {
    const panel = this._notebooks.currentWidget;
    return panel && !panel.isDisposed ? this.sessionFor(panel) : null;
  }

  /**
   * Emitted when the current notebook changes.
   */
  get currentChanged(): ISignal<this, IHeapSession | null> {
    return this._currentChanged;
  }

  /**
   * Whether the tracker is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * What every kernel is asked for; setting it sends `configure` to every connected kernel.
   */
  get configuration(): IHeapConfiguration | null {
    return this._configuration;
  }
  set configuration(value: IHeapConfiguration | null) {
    const old = this._configuration;
    if (value === old || (value && old && sameConfiguration(value, old))) {
      return;
    }
    this._configuration = value;
    if (value) {
      this._sessions.forEach(session => session.configure(value));
    }
  }

  /**
   * The session of a notebook, created on first use and disposed with the notebook.
   *
   * @param panel - an open notebook.
   */
  sessionFor(panel: NotebookPanel): IHeapSession {
    let session = this._sessions.get(panel);
    if (!session) {
      session = new HeapSession({ notebookPanel: panel, configuration: this._configuration ?? undefined });
      this._sessions.set(panel, session);
      panel.disposed.connect(this._onPanelDisposed, this);
    }
    return session;
  }

  /**
   * Dispose of the tracker and every session (idempotent).
   */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._sessions.forEach(session => session.dispose());
    this._sessions.clear();
    Signal.clearData(this);
  }

  private _onCurrentChanged(): void {
    this._currentChanged.emit(this.current);
  }

  private _onPanelDisposed(panel: NotebookPanel): void {
    this._sessions.get(panel)?.dispose();
    this._sessions.delete(panel);
  }

  private _notebooks: INotebookTracker;
  private _configuration: IHeapConfiguration | null = null;
  private _sessions = new Map<NotebookPanel, HeapSession>();
  private _currentChanged = new Signal<this, IHeapSession | null>(this);
  private _isDisposed = false;
}

/**
 * A namespace for HeapTracker statics.
 */
export namespace HeapTracker {
  /**
   * The options of a heap tracker.
   */
  export interface IOptions {
    /**
     * JupyterLab's notebook tracker.
     */
    notebookTracker: INotebookTracker;
  }
}
