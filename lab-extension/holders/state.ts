/**
 * The holders of one kernel as the browser knows them: the latest scan (running, done or failed)
 * and the latest release. Pure state fed with the kernel's `holders_progress`, `holders` and
 * `holder_released` messages (the heap model hands them over); no DOM, no kernel.
 */
import { ISignal, Signal } from '@lumino/signaling';

import type { IHolders, KernelMessage } from '../comm/protocol';
import type { IHoldersProgress } from './holders';

/**
 * Where the scan is.
 *
 * - `idle`: never asked (or forgotten after a kernel restart);
 * - `scanning`: asked, no answer yet (`progress` says how far the kernel is);
 * - `done`: `holders` holds the answer;
 * - `failed`: the kernel answered without holders (`reason` says why) or the request could not be
 *   sent.
 */
export type HoldersPhase = 'idle' | 'scanning' | 'done' | 'failed';

/**
 * A holder released of the names a cell bound, for that cell's badge.
 */
export interface IReleasedHolder {
  /**
   * The holder's name (`Out[3]`, the traceback).
   */
  readonly name: string;
  /**
   * What the scan said deleting it would free.
   */
  readonly bytes: number;
  /**
   * The runs its cell had then.
   */
  readonly runs: number;
}

/**
 * The kernel's answer to a release.
 */
export interface IHolderRelease {
  readonly name: string;
  /**
   * null while the kernel has not answered.
   */
  readonly released: boolean | null;
}

/**
 * The holders of one kernel.
 */
export class HoldersState {
  /**
   * @param runsOf - how many runs a cell has (a release shows on a cell's badge until it runs again).
   */
  constructor(runsOf: (cellId: string) => number = () => 0) {
    this._runsOf = runsOf;
  }

  /**
   * Where the scan is.
   */
  get phase(): HoldersPhase {
    return this._phase;
  }

  /**
   * The kernel's latest progress while it scans; null before the first or when not scanning.
   */
  get progress(): IHoldersProgress | null {
    return this._progress;
  }

  /**
   * The latest answer; kept while a new scan runs (the view can still show it).
   */
  get holders(): IHolders | null {
    return this._holders;
  }

  /**
   * Why the latest scan has no holders (phase `failed`), or null.
   */
  get reason(): string | null {
    return this._reason;
  }

  /**
   * The latest release asked for, and the kernel's answer once it came.
   */
  get release(): IHolderRelease | null {
    return this._release;
  }

  /**
   * Emitted after every change.
   */
  get changed(): ISignal<this, HoldersState.ChangeKind> {
    return this._changed;
  }

  /**
   * A scan was asked for: phase `scanning`, no progress yet.
   */
  begin(): void {
    this._phase = 'scanning';
    this._progress = null;
    this._reason = null;
    this._changed.emit('scan');
  }

  /**
   * The request could not be made (no comm): phase `failed` with a reason.
   *
   * @param reason - why, in words a user can act on.
   */
  fail(reason: string): void {
    this._phase = 'failed';
    this._progress = null;
    this._reason = reason;
    this._changed.emit('result');
  }

  /**
   * A release was asked for.
   *
   * @param name - the holder's name.
   */
  beginRelease(name: string): void {
    this._release = { name, released: null };
    this._changed.emit('release');
  }

  /**
   * Apply a message from the kernel.
   *
   * @param message - a validated kernel message.
   * @returns whether it was a holders message.
   */
  apply(message: KernelMessage): boolean {
    switch (message.type) {
      case 'holders_progress':
        // A late progress message after the answer changes nothing.
        if (this._phase !== 'scanning') {
          return true;
        }
        this._progress = { phase: message.phase, done: message.done, total: message.total };
        this._changed.emit('progress');
        return true;
      case 'holders':
        this._progress = null;
        if (message.holders) {
          this._phase = 'done';
          this._holders = message.holders;
          this._reason = null;
        } else {
          this._phase = 'failed';
          this._reason = message.reason ?? 'the kernel gave no reason';
        }
        this._changed.emit('result');
        return true;
      case 'holder_released': {
        this._release = { name: message.name, released: message.released };
        // The cell that bound it, from the scan the release was chosen in (the view scans again after).
        const holder = this._holders?.holders.find(h => h.name === message.name);
        if (message.released && holder?.cell_id) {
          this._releasedIn.set(holder.cell_id, {
            name: holder.name,
            bytes: holder.bytes,
            runs: this._runsOf(holder.cell_id)
          });
        }
        this._changed.emit('released');
        return true;
      }
      default:
        return false;
    }
  }

  /**
   * Forget everything (the kernel restarted or changed).
   */
  clear(): void {
    this._releasedIn.clear();
    this._phase = 'idle';
    this._progress = null;
    this._holders = null;
    this._reason = null;
    this._release = null;
    this._changed.emit('clear');
  }

  /**
   * Stop emitting (the model is disposed).
   */
  dispose(): void {
    Signal.clearData(this);
  }

  /**
   * What was released of the names a cell bound (the latest release), while that cell has not run again.
   *
   * @param cellId - the cell's id.
   * @param runs - how many runs that cell has now.
   */
  releasedIn(cellId: string, runs: number): IReleasedHolder | null {
    const released = this._releasedIn.get(cellId);
    return released && released.runs === runs ? released : null;
  }

  private _runsOf: (cellId: string) => number;
  private _releasedIn = new Map<string, IReleasedHolder>();
  private _phase: HoldersPhase = 'idle';
  private _progress: IHoldersProgress | null = null;
  private _holders: IHolders | null = null;
  private _reason: string | null = null;
  private _release: IHolderRelease | null = null;
  private _changed = new Signal<this, HoldersState.ChangeKind>(this);
}

/**
 * A namespace for HoldersState statics.
 */
export namespace HoldersState {
  /**
   * What changed: a scan began, progress came, the answer came (or the scan failed), a release was
   * asked for, the kernel answered a release, everything was forgotten.
   */
  export type ChangeKind = 'scan' | 'progress' | 'result' | 'release' | 'released' | 'clear';
}
