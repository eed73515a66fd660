/**
 * The heap tracker service: one heap session per open notebook.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Token } from '@lumino/coreutils';
import type { IObservableDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';

import type { HeapConnection } from '../comm/connection';
import type { BrowserRequest, ProfilerMode } from '../comm/protocol';
import type { HeapModel } from '../model/model';

/**
 * The heap data of one notebook: its kernel connection and its model.
 */
export interface IHeapSession extends IObservableDisposable {
  /**
   * The notebook this session belongs to.
   */
  readonly notebookPanel: NotebookPanel;
  /**
   * The notebook's session context (kernel, kernel name).
   */
  readonly sessionContext: ISessionContext;
  /**
   * The heap model fed by the kernel.
   */
  readonly model: HeapModel;
  /**
   * The state of the connection to the kernel.
   */
  readonly state: HeapConnection.State;
  /**
   * Emitted when {@link state} changes.
   */
  readonly stateChanged: ISignal<IHeapSession, HeapConnection.State>;
  /**
   * Ask the kernel to forget finished cells.
   *
   * @returns whether the request was sent.
   */
  clearHistory(): boolean;
  /**
   * Ask the kernel for a cell's record with up to `limit` sites per list; the answer lands in
   * the model (`model.detail(seq)`).
   *
   * @param seq - the execution's `seq`.
   * @param limit - sites per list (1–1000).
   * @returns whether the request was sent.
   */
  requestDetail(seq: number, limit?: number): boolean;
  /**
   * Ask the kernel for the heap alive now by allocating cell (`model.retainedByCell`).
   *
   * @param limit - sites per cell (1–1000).
   * @returns whether the request was sent.
   */
  requestRetained(limit?: number): boolean;
  /**
   * Send any browser → kernel request (e.g. `holders`, `release_holder`); the answers land in the
   * model. Optional: a session without a comm (a test double) leaves it out.
   *
   * @param request - the message without `protocol`.
   * @returns whether it was sent (false when the comm is not open).
   */
  send?(request: BrowserRequest): boolean;
}

/**
 * What the extension asks every heapscope kernel for (`configure`, from the settings).
 */
export interface IHeapConfiguration {
  /**
   * The profiling mode.
   */
  readonly mode: ProfilerMode;
  /**
   * Sites per list in `cell` and `history` messages.
   */
  readonly topN: number;
  /**
   * The memory guard: as the kernel's environment says, or switched on or off.
   */
  readonly guard: 'kernel' | 'on' | 'off';
  /**
   * The guard's hard and soft thresholds (fractions of the limit), or null for the kernel's own.
   */
  readonly guardHard: number | null;
  readonly guardSoft: number | null;
}

/**
 * The heap tracker: the heap session of every open notebook, and of the current one.
 */
export interface IHeapTracker {
  /**
   * The session of the current notebook, or null when no notebook is open.
   */
  readonly current: IHeapSession | null;
  /**
   * Emitted when the current notebook changes.
   */
  readonly currentChanged: ISignal<IHeapTracker, IHeapSession | null>;
  /**
   * The session of a notebook, created on first use.
   *
   * @param panel - an open notebook.
   */
  sessionFor(panel: NotebookPanel): IHeapSession;
  /**
   * What every kernel is asked for (from the settings); sent after every comm open and whenever
   * it changes. Null until the settings are loaded: nothing is sent then.
   */
  configuration: IHeapConfiguration | null;
}

/**
 * The heap tracker token.
 */
export const IHeapTracker = new Token<IHeapTracker>(
  'heapscope:IHeapTracker',
  'The heap data of every open notebook, fed by the heapscope kernel agent.'
);
