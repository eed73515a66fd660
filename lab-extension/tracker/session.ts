/**
 * The heap session of one notebook: a kernel connection feeding a heap model.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import { HeapConnection } from '../comm/connection';
import { HeapModel } from '../model/model';
import type { IHeapSession } from './tokens';

/**
 * The heap session of one notebook.
 */
export class HeapSession implements IHeapSession {
  /**
   * Construct a session and start following the notebook's kernel.
   *
   * @param options - the notebook.
   */
  constructor(options: HeapSession.IOptions) {
    this.notebookPanel = options.notebookPanel;
    this.model = new HeapModel();
    this._connection = new HeapConnection({ sessionContext: this.sessionContext });
    this._connection.messageReceived.connect((_, message) => this.model.apply(message), this);
    this._connection.kernelReset.connect(() => this.model.clear(), this);
    this._connection.stateChanged.connect((_, state) => this._stateChanged.emit(state), this);
  }

  /**
   * The notebook this session belongs to.
   */
  readonly notebookPanel: NotebookPanel;

  /**
   * The heap model fed by the kernel.
   */
  readonly model: HeapModel;

  /**
   * The notebook's session context.
   */
  get sessionContext(): ISessionContext {
    return this.notebookPanel.sessionContext;
  }

  /**
   * The state of the connection to the kernel.
   */
  get state(): HeapConnection.State {
    return this._connection.state;
  }

  /**
   * Emitted when the connection state changes.
   */
  get stateChanged(): ISignal<this, HeapConnection.State> {
    return this._stateChanged;
  }

  /**
   * Emitted when the session is disposed.
   */
  get disposed(): ISignal<this, void> {
    return this._disposed;
  }

  /**
   * Whether the session is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Ask the kernel to forget finished cells; it answers with an empty history.
   */
  clearHistory(): boolean {
    return this._connection.send('clear');
  }

  /**
   * Dispose of the session, its connection and its model (idempotent).
   */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._connection.dispose();
    this.model.dispose();
    this._disposed.emit();
    Signal.clearData(this);
  }

  private _connection: HeapConnection;
  private _stateChanged = new Signal<this, HeapConnection.State>(this);
  private _disposed = new Signal<this, void>(this);
  private _isDisposed = false;
}

/**
 * A namespace for HeapSession statics.
 */
export namespace HeapSession {
  /**
   * The options of a heap session.
   */
  export interface IOptions {
    /**
     * The notebook to profile.
     */
    notebookPanel: NotebookPanel;
  }
}
