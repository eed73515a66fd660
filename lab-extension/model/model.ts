/**
 * The heap ledger of one kernel, as the browser knows it. Pure state: no DOM, no kernel.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import type { HeapTick, ICellRun, ICellStart, IProfilerStatus, IRetained, KernelMessage } from '../comm/protocol';
import { HoldersState } from '../holders/state';

/**
 * The per-kernel heap model: every finished run in execution order, the running cell and
 * the profiler's status, fed with protocol v1 messages.
 */
export class HeapModel implements IDisposable {
  /**
   * The profiler's status, or null before the kernel reported it.
   */
  get status(): IProfilerStatus | null {
    return this._status;
  }

  /**
   * Every finished run, in the order cells started (`seq`); a re-run cell appears once
   * per run.
   */
  get cells(): ReadonlyArray<ICellRun> {
    return this._cells;
  }

  /**
   * The cell that is executing now, or null.
   */
  get running(): ICellStart | null {
    return this._running;
  }

  /**
   * The live ticks of the running cell, oldest first (empty when no cell runs).
   */
  get ticks(): ReadonlyArray<HeapTick> {
    return this._ticks;
  }

  /**
   * The running cell's RSS readings (`ticks.rss`), oldest first (empty when no cell runs or the
   * kernel sends none).
   */
  get rssTicks(): ReadonlyArray<HeapTick> {
    return this._rssTicks;
  }

  /**
   * The highest heap among the running cell's start and its live ticks (0 when no cell runs).
   */
  get livePeak(): number {
    return this._livePeak;
  }

  /**
   * A number that changes whenever {@link HeapModel.cells} changes in any way other than runs
   * appended at its end (a history, a clear, a run replaced or inserted before the last): a view
   * that drew the first k runs at the same version only has to add `cells.slice(k)`.
   */
  get cellsVersion(): number {
    return this._cellsVersion;
  }

  /**
   * The heap alive now by allocating cell, as last reported (null: unknown or no attribution).
   */
  get retainedByCell(): ReadonlyArray<IRetained> | null {
    return this._retained;
  }

  /**
   * Who holds the heap (the `holders` scan and releases); it has its own `changed` signal.
   */
  readonly holders = new HoldersState(cellId => this.runs(cellId).length);

  /**
   * Emitted after every change.
   */
  get changed(): ISignal<this, HeapModel.IChangedArgs> {
    return this._changed;
  }

  /**
   * Whether the model is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * the most recent finished run of a cell.
   *
   * @param cellId - JupyterLab's cell id.
   * @returns the record, or undefined when the cell has not finished a run.
   */
  lastRun(cellId: string): ICellRun | undefined {
    const runs = this._byCellId.get(cellId);
    return runs ? runs[runs.length - 1] : undefined;
  }

  /**
   * Every finished run of a cell, oldest first.
   *
   * @param cellId - JupyterLab's cell id.
   */
  runs(cellId: string): ReadonlyArray<ICellRun> {
    return this._byCellId.get(cellId) ?? [];
  }

  /**
   * A finished run by its `seq`.
   *
   * @param seq - the run's position in the kernel's ledger.
   * @returns the record, or undefined.
   */
  bySeq(seq: number): ICellRun | undefined {
    return this._bySeq.get(seq);
  }

  /**
   * The longest known record of a run: the `cell_detail` answer when there is one, else
   * the record from the `cell`/`history` messages.
   *
   * @param seq - the run's `seq`.
   * @returns the record; null when the kernel said it no longer has it and it is not in the
   *   history; undefined when nothing is known.
   */
  detail(seq: number): ICellRun | null | undefined {
    const detail = this._details.get(seq);
    return detail ?? this.bySeq(seq) ?? detail;
  }

  /**
   * Whether the kernel answered a `cell_detail` request for a run.
   *
   * @param seq - the run's `seq`.
   */
  hasDetail(seq: number): boolean {
    return this._details.has(seq);
  }

  /**
   * Apply a message from the kernel.
   *
   * @param message - a parsed protocol v1 message; `error` messages change nothing.
   */
  apply(message: KernelMessage): void {
    switch (message.type) {
      case 'status':
        this._status = message.status;
        this._emit('status', null);
        break;
      case 'cell_start':
        this._running = message.cell;
        this._ticks = [];
        this._rssTicks = [];
        this._livePeak = message.cell.start_bytes;
        this._emit('cell-start', message.cell.cell_id);
        break;
      case 'ticks': {
        const running = this._running;
        if (!running || (message.seq !== null && running.seq !== undefined && message.seq !== running.seq)) {
          return;
        }
        // In place, O(ticks in the message): the array is trimmed by half when it doubles.
        for (const tick of message.ticks) {
          this._ticks.push(tick);
          if (tick[1] > this._livePeak) {
            this._livePeak = tick[1];
          }
        }
        if (this._ticks.length > 2 * Private.MAX_TICKS) {
          this._ticks.splice(0, this._ticks.length - Private.MAX_TICKS);
        }
        for (const reading of message.rss ?? []) {
          this._rssTicks.push(reading);
        }
        if (this._rssTicks.length > 2 * Private.MAX_TICKS) {
          this._rssTicks.splice(0, this._rssTicks.length - Private.MAX_TICKS);
        }
        this._emit('ticks', running.cell_id);
        break;
      }
      case 'cell':
        this._addCell(message.cell);
        this._emit('cell', message.cell.cell_id);
        break;
      case 'history':
        this._status = message.status;
        this._running = message.running;
        this._ticks = [];
        this._rssTicks = [];
        this._livePeak = message.running?.start_bytes ?? 0;
        this._cells = [];
        this._cellsVersion++;
        this._byCellId.clear();
        this._bySeq.clear();
        this._details.clear();
        if (message.retained_by_cell !== undefined) {
          this._retained = message.retained_by_cell;
        }
        message.cells.forEach(cell => this._addCell(cell));
        this._emit('history', null);
        break;
      case 'cell_detail':
        this._details.set(message.seq, message.cell);
        if (this._details.size > Private.MAX_DETAILS) {
          // Forget the oldest answer (Map keeps insertion order).
          this._details.delete(this._details.keys().next().value as number);
        }
        this._emit('detail', message.cell?.cell_id ?? null, message.seq);
        break;
      case 'retained_by_cell':
        this._retained = message.retained_by_cell;
        this._emit('retained', null);
        break;
      case 'holders_progress':
      case 'holders':
      case 'holder_released':
        this.holders.apply(message);
        break;
      case 'error':
        break;
    }
  }

  /**
   * Forget everything, e.g. when the kernel restarts or changes.
   */
  clear(): void {
    this._status = null;
    this._running = null;
    this._ticks = [];
    this._rssTicks = [];
    this._livePeak = 0;
    this._cells = [];
    this._cellsVersion++;
    this._byCellId.clear();
    this._bySeq.clear();
    this._details.clear();
    this._retained = null;
    this.holders.clear();
    this._emit('clear', null);
  }

  /**
   * Dispose of the model (idempotent).
   */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.holders.dispose();
    Signal.clearData(this);
  }

  /**
   * Add a finished run in `seq` order, replacing a record of the same run (a
   * `cell` broadcast may arrive just before or just after a `history` that holds it).
   */
  private _addCell(cell: ICellRun): void {
    if (this._running && Private.sameRun(this._running, cell)) {
      this._running = null;
      this._ticks = [];
      this._rssTicks = [];
      this._livePeak = 0;
    }
    const runs = cell.cell_id === null ? null : (this._byCellId.get(cell.cell_id) ?? []);
    // O(1) for a run with a `seq` (the protocol always sends one): the index by seq says whether
    // it is known; a new run is appended unless a nested cell's run comes out of order.
    const old = cell.seq !== undefined ? this._bySeq.get(cell.seq) : undefined;
    const known =
      cell.seq !== undefined
        ? old === undefined
          ? -1
          : this._cells.lastIndexOf(old)
        : Private.findRun(this._cells, cell);
    if (known >= 0) {
      const replaced = this._cells[known];
      this._cells[known] = cell;
      this._cellsVersion++;
      if (cell.seq !== undefined) {
        this._bySeq.set(cell.seq, cell);
      }
      const at = runs ? runs.indexOf(replaced) : -1;
      if (at >= 0) {
        runs![at] = cell;
      }
      return;
    }
    if (Private.insertInOrder(this._cells, cell) !== this._cells.length - 1) {
      this._cellsVersion++;
    }
    if (cell.seq !== undefined) {
      this._bySeq.set(cell.seq, cell);
    }
    if (runs && cell.cell_id !== null) {
      Private.insertInOrder(runs, cell);
      this._byCellId.set(cell.cell_id, runs);
    }
  }

  private _emit(kind: HeapModel.ChangeKind, cellId: string | null, seq?: number): void {
    this._changed.emit(seq === undefined ? { kind, cellId } : { kind, cellId, seq });
  }

  private _status: IProfilerStatus | null = null;
  private _running: ICellStart | null = null;
  private _ticks: HeapTick[] = [];
  private _rssTicks: HeapTick[] = [];
  private _livePeak = 0;
  private _cells: ICellRun[] = [];
  private _cellsVersion = 0;
  private _byCellId = new Map<string, ICellRun[]>();
  private _bySeq = new Map<number, ICellRun>();
  private _details = new Map<number, ICellRun | null>();
  private _retained: ReadonlyArray<IRetained> | null = null;
  private _changed = new Signal<this, HeapModel.IChangedArgs>(this);
  private _isDisposed = false;
}

/**
 * A namespace for HeapModel statics.
 */
export namespace HeapModel {
  /**
   * What changed: the status, a cell started, live ticks of the running cell arrived, a cell
   * finished, the whole state was replaced from the kernel (`history`), or it was forgotten
   * (`clear`), a `cell_detail` answer arrived (`detail`), the retained-by-cell view changed
   * (`retained`).
   */
  export type ChangeKind = 'status' | 'cell-start' | 'ticks' | 'cell' | 'history' | 'clear' | 'detail' | 'retained';

  /**
   * The arguments of {@link HeapModel.changed}.
   */
  export interface IChangedArgs {
    /**
     * What changed.
     */
    readonly kind: ChangeKind;
    /**
     * The cell concerned by `cell-start`, `ticks`, `cell` and `detail`; null otherwise or
     * without an id.
     */
    readonly cellId: string | null;
    /**
     * The run concerned by `detail`.
     */
    readonly seq?: number;
  }
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * How many live ticks of the running cell are kept at least (at most twice as many).
   */
  export const MAX_TICKS = 10_000;

  /**
   * How many `cell_detail` answers are kept.
   */
  export const MAX_DETAILS = 50;

  /**
   * Whether two records describe the same run: the same `seq` when both have one,
   * otherwise the same cell id, execution count and start time.
   */
  export function sameRun(a: ICellStart, b: ICellStart): boolean {
    if (a.seq !== undefined && b.seq !== undefined) {
      return a.seq === b.seq;
    }
    return a.cell_id === b.cell_id && a.execution_count === b.execution_count && a.started_at === b.started_at;
  }

  /**
   * The index of the record of the same run, searching from the most recent; -1 if none.
   */
  export function findRun(runs: ReadonlyArray<ICellRun>, cell: ICellRun): number {
    for (let i = runs.length - 1; i >= 0; i--) {
      if (sameRun(runs[i], cell)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * Insert a record in `seq` order: after every record with a smaller or no `seq` (nested cells
   * finish before the cell around them, so their `cell` messages come out of order).
   *
   * @returns where it was inserted.
   */
  export function insertInOrder(runs: ICellRun[], cell: ICellRun): number {
    let i = runs.length;
    if (cell.seq !== undefined) {
      const seq = cell.seq;
      while (i > 0 && (runs[i - 1].seq ?? -Infinity) > seq) {
        i--;
      }
    }
    if (i === runs.length) {
      runs.push(cell);
    } else {
      runs.splice(i, 0, cell);
    }
    return i;
  }
}
