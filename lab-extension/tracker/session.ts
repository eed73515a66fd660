/**
 * The heap session of one notebook: a kernel connection feeding a heap model.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import { HeapConnection } from '../comm/connection';
import type { BrowserRequest } from '../comm/protocol';
import { HeapModel } from '../model/model';
import { configureMessage } from './configuration';
import type { IHeapConfiguration, IHeapSession } from './tokens';

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
    this._configuration = options.configuration ?? null;
    this._connection = new HeapConnection({ sessionContext: this.sessionContext });
    this._connection.messageReceived.connect((_, message) => this.model.apply(message), this);
    this._connection.kernelReset.connect(() => this.model.clear(), this);
    this._connection.stateChanged.connect(this._onStateChanged, this);
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
   * Ask the kernel for a cell's record with longer site lists.
   *
   * @param seq - the execution's `seq`.
   * @param limit - sites per list.
   */
  requestDetail(seq: number, limit?: number): boolean {
    return this._connection.send(
      limit === undefined ? { type: 'cell_detail', seq } : { type: 'cell_detail', seq, limit }
    );
  }

  /**
   * Ask the kernel for the heap alive now by allocating cell.
   *
   * @param limit - sites per cell.
   */
  requestRetained(limit?: number): boolean {
    return this._connection.send(
      limit === undefined ? { type: 'retained_by_cell' } : { type: 'retained_by_cell', limit }
    );
  }

  /**
   * Send any browser → kernel request; the answers land in the model.
   *
   * @param request - the message without `protocol`.
   */
  send(request: BrowserRequest): boolean {
    return this._connection.send(request);
  }

  /**
   * Tell the kernel the extension's settings (now if connected, and after every comm open).
   *
   * @param configuration - the mode and top N.
   */
  configure(configuration: IHeapConfiguration): void {
    this._configuration = configuration;
    this._sendConfiguration();
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

  private _onStateChanged(_: HeapConnection, state: HeapConnection.State): void {
    if (state === 'connected') {
      this._sendConfiguration();
    }
    this._stateChanged.emit(state);
  }

  private _sendConfiguration(): void {
    const configuration = this._configuration;
    if (configuration && this._connection.state === 'connected') {
      this._connection.send(configureMessage(configuration));
    }
  }

  private _connection: HeapConnection;
  private _configuration: IHeapConfiguration | null;
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
    /**
     * What to ask the kernel for (`configure`); nothing is sent without it.
     */
    configuration?: IHeapConfiguration;
  }
}
