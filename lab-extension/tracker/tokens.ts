/**
 * The heap tracker service: one heap session per open notebook.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Token } from '@lumino/coreutils';
import type { IObservableDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';

import type { HeapConnection } from '../comm/connection';
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
}

/**
 * The heap tracker token.
 */
export const IHeapTracker = new Token<IHeapTracker>(
  'heapscope:IHeapTracker',
  'The heap data of every open notebook, fed by the heapscope kernel agent.'
);
