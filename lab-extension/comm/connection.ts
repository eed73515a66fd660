/**
 * The comm client of one notebook session: opens comm `heapscope` on the session's kernel and
 * keeps it open across kernel restarts and kernel changes.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel, KernelMessage as JupyterMessage } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { browserMessage, BrowserRequest, COMM_TARGET, KernelMessage, parseKernelMessage } from './protocol';

/**
 * A per-session comm client speaking protocol v1.
 *
 * #### Notes
 * The comm is opened with a `sync` message as open data whenever the session has a kernel: at
 * start, after a page reload, after every restart (restarts dispose comms) and after a kernel
 * change. It does not wait for an `idle` status: after a restart, JupyterLab only sees the
 * statuses of requests it does not track (`kernel_info_request`), so the kernel can stay
 * `starting` until something else is sent; the kernel connection itself queues the open until
 * the new kernel answers. A kernel without the `heapscope` target answers the open with a `comm_close`:
 * the state becomes `not-heapscope` until the kernel restarts or changes.
 *
 * The network between the browser and the kernel may lose messages (a server behind a gateway
 * drops what it could not forward while its upstream websocket reconnects). An open that gets no
 * answer within {@link HeapConnection.OPEN_TIMEOUT_MS} while the kernel connection is up and the
 * kernel idle is given up and retried (1, 2, 4, 8, then every 16 s; state `reconnecting`), and
 * after the kernel's websocket reconnects a working comm asks for the history again (`sync`).
 */
export class HeapConnection implements IDisposable {
  /**
   * Construct a connection; it connects as soon as the session has a ready kernel.
   *
   * @param options - the session to follow.
   */
  constructor(options: HeapConnection.IOptions) {
    this._sessionContext = options.sessionContext;
    this._sessionContext.kernelChanged.connect(this._followKernel, this);
    this._sessionContext.sessionChanged.connect(this._followKernel, this);
    this._sessionContext.statusChanged.connect(this._onStatusChanged, this);
    this._followKernel();
  }

  /**
   * The connection's state.
   */
  get state(): HeapConnection.State {
    return this._state;
  }

  /**
   * Emitted when the state changes.
   */
  get stateChanged(): ISignal<this, HeapConnection.State> {
    return this._stateChanged;
  }

  /**
   * Emitted for every valid message from the kernel; invalid ones are logged and dropped.
   */
  get messageReceived(): ISignal<this, KernelMessage> {
    return this._messageReceived;
  }

  /**
   * Emitted when the kernel restarted or was replaced: what it sent before is obsolete.
   */
  get kernelReset(): ISignal<this, void> {
    return this._kernelReset;
  }

  /**
   * Whether the connection is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Send a message to the kernel.
   *
   * @param request - the browser → kernel message type (`sync`, `clear`), or a whole request
   *   without `protocol` (`{type: 'cell_detail', seq: 7}`).
   * @returns whether it was sent (false when no comm is open).
   */
  send(request: BrowserRequest | 'sync' | 'clear'): boolean {
    const comm = this._comm;
    if (!comm || comm.isDisposed || this._state !== 'connected') {
      return false;
    }
    try {
      comm.send(typeof request === 'string' ? browserMessage(request) : browserMessage(request));
      return true;
    } catch (error) {
      console.warn('heapscope: could not send to the kernel', error);
      return false;
    }
  }

  /**
   * Dispose of the connection (idempotent); closes the comm if the kernel is still there.
   */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._cancelReopen();
    this._dropComm(true);
    Signal.clearData(this);
  }

  /**
   * Follow the session's current kernel (after a kernel or session change).
   */
  private _followKernel(): void {
    const kernel = this._sessionContext.session?.kernel ?? null;
    if (kernel === this._kernel) {
      return;
    }
    this._dropComm(true);
    this._cancelReopen();
    this._reopenAttempts = 0;
    this._kernel?.connectionStatusChanged?.disconnect(this._onConnectionStatus, this);
    this._kernel = kernel;
    this._wasDisconnected = false;
    kernel?.connectionStatusChanged?.connect(this._onConnectionStatus, this);
    this._refused = false;
    this._kernelReset.emit();
    this._maybeOpen();
  }

  /**
   * After the kernel's websocket comes back, messages sent meanwhile may be lost: a working comm
   * asks for the whole history again.
   */
  private _onConnectionStatus(_: Kernel.IKernelConnection, status: Kernel.ConnectionStatus): void {
    if (status !== 'connected') {
      this._wasDisconnected = true;
      return;
    }
    if (this._wasDisconnected) {
      this._wasDisconnected = false;
      this.send('sync');
    }
  }

  private _onStatusChanged(_: ISessionContext, status: Kernel.Status): void {
    if (status === 'restarting' || status === 'autorestarting') {
      // The restart disposes every comm; re-open at the next status (the kernel connection
      // queues the open until the new process answers its kernel_info_request).
      this._dropComm(false);
      this._refused = false;
      this._kernelReset.emit();
      this._setState('connecting');
      return;
    }
    if (status === 'dead') {
      this._dropComm(false);
    }
    this._maybeOpen();
  }

  /**
   * Open the comm if the kernel is ready and none is open.
   */
  private _maybeOpen(): void {
    const kernel = this._kernel;
    if (!kernel || kernel.isDisposed || kernel.status === 'dead') {
      this._setState('no-kernel');
      return;
    }
    if (this._refused || (this._comm && !this._comm.isDisposed)) {
      return;
    }
    if (Private.NOT_READY.includes(kernel.status)) {
      // The restart disposes comms and pending messages; open once it is under way.
      this._setState('connecting');
      return;
    }
    let comm: Kernel.IComm;
    try {
      comm = kernel.createComm(COMM_TARGET);
    } catch (error) {
      console.warn('heapscope: cannot open a comm on this kernel', error);
      this._setState('no-kernel');
      return;
    }
    this._comm = comm;
    this._received = false;
    comm.onMsg = msg => this._onCommMsg(comm, msg);
    comm.onClose = () => this._onCommClose(comm);
    if (this._state !== 'reconnecting') {
      this._setState('connecting');
    }
    const future = comm.open(browserMessage('sync'));
    // A restart cancels the open's future: that is expected, not an error.
    future.done.catch(() => undefined);
    this._armOpenTimeout(comm);
  }

  /**
   * Give up an open that got no answer in time: the open or its answer was lost on the way.
   * While the kernel connection is down or the kernel is busy the open is only late (the kernel
   * connection queues it; a busy kernel reads it after the cell), so the timer starts again.
   */
  private _armOpenTimeout(comm: Kernel.IComm): void {
    this._clearOpenTimeout();
    this._openTimer = setTimeout(() => {
      this._openTimer = null;
      if (this._isDisposed || comm !== this._comm || this._received) {
        return;
      }
      const kernel = this._kernel;
      const late = kernel && (kernel.connectionStatus !== 'connected' || kernel.status === 'busy');
      if (late || (kernel && Private.NOT_READY.includes(kernel.status))) {
        this._armOpenTimeout(comm);
        return;
      }
      this._dropComm(true);
      this._setState('reconnecting');
      this._scheduleReopen(true);
    }, HeapConnection.OPEN_TIMEOUT_MS);
  }

  private _clearOpenTimeout(): void {
    if (this._openTimer !== null) {
      clearTimeout(this._openTimer);
      this._openTimer = null;
    }
  }

  private _onCommMsg(comm: Kernel.IComm, msg: JupyterMessage.ICommMsgMsg): void {
    if (comm !== this._comm) {
      return;
    }
    const result = parseKernelMessage(msg.content.data);
    if (!result.ok) {
      console.warn(`heapscope: dropped an invalid message from the kernel: ${result.error}`);
      return;
    }
    this._received = true;
    this._clearOpenTimeout();
    this._setState('connected');
    if (result.message.type === 'error') {
      console.warn(`heapscope: the kernel reported an error: ${result.message.message}`);
    }
    this._messageReceived.emit(result.message);
  }

  private _onCommClose(comm: Kernel.IComm): void {
    if (comm !== this._comm) {
      return;
    }
    this._comm = null;
    this._clearOpenTimeout();
    if (this._received) {
      // The kernel closed a working comm (it keeps a bounded number of comms and cannot tell a
      // closed page from an open one): open a new one, backing off if it keeps closing them.
      this._setState(this._scheduleReopen(false) ? 'reconnecting' : 'closed');
    } else {
      // A kernel without the `heapscope` target closes the comm at once.
      this._refused = true;
      this._setState('not-heapscope');
    }
  }

  /**
   * Open a new comm after a back-off delay. A kernel that keeps closing comms is given up after
   * five quick closes (returns false); an open that timed out is retried as long as the kernel
   * is there (`keepTrying`), every 16 s at most.
   */
  private _scheduleReopen(keepTrying: boolean): boolean {
    this._cancelReopen();
    const now = Date.now();
    if (now - this._lastReopenAt > Private.REOPEN_RESET_MS) {
      this._reopenAttempts = 0; // the last reopen held for a while: start over
    }
    this._lastReopenAt = now;
    const delays = Private.REOPEN_DELAYS_MS;
    if (this._reopenAttempts >= delays.length && !keepTrying) {
      return false;
    }
    const delay = delays[Math.min(this._reopenAttempts++, delays.length - 1)];
    this._reopenTimer = setTimeout(() => {
      this._reopenTimer = null;
      if (!this._isDisposed) {
        this._maybeOpen();
      }
    }, delay);
    return true;
  }

  private _cancelReopen(): void {
    if (this._reopenTimer !== null) {
      clearTimeout(this._reopenTimer);
      this._reopenTimer = null;
    }
    this._clearOpenTimeout();
  }

  /**
   * Forget the comm; with `close`, also tell a still running kernel.
   */
  private _dropComm(close: boolean): void {
    const comm = this._comm;
    this._comm = null;
    if (close && comm && !comm.isDisposed && this._kernel && !this._kernel.isDisposed) {
      try {
        void comm.close().done.catch(() => undefined);
      } catch {
        // The kernel went away meanwhile: nothing to close.
      }
    }
  }

  private _setState(state: HeapConnection.State): void {
    if (this._state !== state) {
      this._state = state;
      this._stateChanged.emit(state);
    }
  }

  private _sessionContext: ISessionContext;
  private _kernel: Kernel.IKernelConnection | null = null;
  private _comm: Kernel.IComm | null = null;
  private _received = false;
  private _refused = false;
  private _reopenAttempts = 0;
  private _lastReopenAt = 0;
  private _reopenTimer: ReturnType<typeof setTimeout> | null = null;
  private _openTimer: ReturnType<typeof setTimeout> | null = null;
  private _wasDisconnected = false;
  private _state: HeapConnection.State = 'no-kernel';
  private _stateChanged = new Signal<this, HeapConnection.State>(this);
  private _messageReceived = new Signal<this, KernelMessage>(this);
  private _kernelReset = new Signal<this, void>(this);
  private _isDisposed = false;
}

/**
 * A namespace for HeapConnection statics.
 */
export namespace HeapConnection {
  /**
   * The options of a connection.
   */
  export interface IOptions {
    /**
     * The notebook's session context.
     */
    sessionContext: ISessionContext;
  }

  /**
   * The state of a connection:
   * - `no-kernel`: the session has no running kernel;
   * - `connecting`: waiting for the kernel to be ready or to answer the comm open;
   * - `connected`: the kernel answered with a valid message;
   * - `not-heapscope`: the kernel closed the comm at once: it has no heapscope agent;
   * - `reconnecting`: the kernel closed a working comm, or an open got no answer in time; a new one
   *   is opened after 1 s (then 2, 4, 8, 16 s);
   * - `closed`: the kernel closed five comms in a row within a minute: given up until the kernel
   *   restarts or changes.
   */
  export type State = 'no-kernel' | 'connecting' | 'connected' | 'not-heapscope' | 'reconnecting' | 'closed';

  /**
   * How long an open may wait for the kernel's first answer while the kernel connection is up and
   * the kernel idle, before it is given up and retried.
   */
  export const OPEN_TIMEOUT_MS = 5000;
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * Kernel statuses in which a comm must not be opened.
   */
  export const NOT_READY: ReadonlyArray<Kernel.Status> = ['restarting', 'autorestarting', 'terminating', 'dead'];

  /**
   * Delays before reopening a comm the kernel closed; one more close than this gives up.
   */
  export const REOPEN_DELAYS_MS: ReadonlyArray<number> = [1000, 2000, 4000, 8000, 16000];

  /**
   * A comm that stayed open this long since the last reopen resets the back-off.
   */
  export const REOPEN_RESET_MS = 60000;
}
