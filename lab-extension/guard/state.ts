/**
 * The memory guard's state of one heap model: which runs crossed the soft threshold, the warning in
 * force, the killed run to show, and the alerts to notify once per run. No DOM.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import type { ICellRun, ICellStart, IProfilerStatus } from '../comm/protocol';
import type { HeapModel } from '../model/model';
import { guardStopText, IMemoryWarning, postMortemSummary, warningText } from './text';

/**
 * How a badge shows the guard: `warn` (amber: the run crossed the soft threshold), `guard` (stopped
 * by heapscope), `killed` (the kernel died in this run) or `none`.
 */
export type GuardBadgeState = 'none' | 'warn' | 'guard' | 'killed';

/**
 * The guard state of a finished run's badge.
 *
 * @param run - the cell's last finished run.
 * @param warned - the level of warning the run got while it ran (see {@link GuardState.warnedLevel}).
 */
export function runBadgeState(run: Pick<ICellRun, 'status'>, warned: 'soft' | 'hard' | null): GuardBadgeState {
  if (run.status === 'killed') {
    return 'killed';
  }
  if (run.status === 'guard') {
    return 'guard';
  }
  return warned ? 'warn' : 'none';
}

/**
 * The guard state of a running cell's badge: amber once the kernel warned about this run.
 *
 * @param running - the running cell.
 * @param warning - `status.memory_warning`.
 */
export function runningBadgeState(running: ICellStart, warning: IMemoryWarning | null | undefined): GuardBadgeState {
  return warning && running.seq !== undefined && warning.seq === running.seq ? 'warn' : 'none';
}

/**
 * How the panel shows the guard: `warn` (amber: a run is over the soft threshold), `stopped` (the
 * guard stopped the last run), or `none`.
 *
 * @param status - the kernel's status.
 */
export function panelGuardLevel(status: IProfilerStatus | null): 'none' | 'warn' | 'stopped' {
  const warning = status?.memory_warning;
  if (!warning) {
    return 'none';
  }
  return warning.level === 'hard' ? 'stopped' : 'warn';
}

/**
 * An alert to show once (a notification).
 */
export interface IGuardAlert {
  /**
   * `soft`: a run crossed the soft threshold; `hard`: the guard stopped a run; `killed`: the
   * kernel died in a run.
   */
  readonly kind: 'soft' | 'hard' | 'killed';
  /**
   * The notification's text (plain text).
   */
  readonly text: string;
  /**
   * The run's `seq` (killed: its seq in the new kernel's ledger).
   */
  readonly seq: number | null;
  /**
   * The run's cell id.
   */
  readonly cellId: string | null;
}

/**
 * How long after a kernel died its post-mortem is still announced (a page opened an hour later
 * shows it in the panel, without a notification).
 */
export const KILLED_ALERT_WINDOW_S = 600;

/**
 * The alert of a status's warning: once per run and level.
 *
 * @param status - the kernel's status.
 * @param seen - the keys of alerts already given (updated).
 */
export function warningAlert(status: IProfilerStatus | null, seen: Set<string>): IGuardAlert | null {
  const warning = status?.memory_warning;
  if (!status || !warning) {
    return null;
  }
  const key = `${status.pid}:${warning.seq}:${warning.level}`;
  if (seen.has(key)) {
    return null;
  }
  seen.add(key);
  // A stop that follows a soft warning of the same run says it all: keep the soft one's key too.
  seen.add(`${status.pid}:${warning.seq}:soft`);
  return {
    kind: warning.level === 'hard' ? 'hard' : 'soft',
    text:
      warning.level === 'hard'
        ? `${warning.execution_count === null ? 'The running cell' : `Cell [${warning.execution_count}]`} was ${warningText(warning, status.memory_limit)}`
        : warningText(warning, status.memory_limit),
    seq: warning.seq,
    cellId: warning.cell_id ?? null
  };
}

/**
 * The alerts of killed runs: once per dead run (the same run comes back in every later history,
 * with another seq), and only for a death less than {@link KILLED_ALERT_WINDOW_S} ago.
 *
 * @param runs - finished runs.
 * @param seen - the keys of alerts already given (updated).
 * @param now - the time now, in seconds since the epoch.
 */
export function killedAlerts(runs: ReadonlyArray<ICellRun>, seen: Set<string>, now: number): IGuardAlert[] {
  const alerts: IGuardAlert[] = [];
  for (const run of runs) {
    if (run.status !== 'killed') {
      continue;
    }
    const key = `killed:${run.cell_id ?? ''}:${run.started_at}:${run.post_mortem?.pid ?? ''}`;
    if (seen.has(key)) {
      continue;
    }
    seen.add(key);
    if (now - run.ended_at > KILLED_ALERT_WINDOW_S) {
      continue;
    }
    alerts.push({ kind: 'killed', text: postMortemSummary(run), seq: run.seq ?? null, cellId: run.cell_id });
  }
  return alerts;
}

/**
 * The most recent killed run of a ledger, unless a later run of the same kernel session shows the
 * user went on (the panel then stops showing the post-mortem box; the badge and the cell
 * detail keep it).
 *
 * @param cells - the runs, in order.
 * @param dismissed - keys of post-mortems the user closed.
 */
export function latestKilled(
  cells: ReadonlyArray<ICellRun>,
  dismissed: ReadonlySet<string> = new Set()
): ICellRun | null {
  for (let i = cells.length - 1; i >= 0; i--) {
    const run = cells[i];
    if (run.status === 'killed') {
      return dismissed.has(killedKey(run)) ? null : run;
    }
  }
  return null;
}

/**
 * The key of a killed run that stays the same across the kernels that carry it on.
 *
 * @param run - a run with status `killed`.
 */
export function killedKey(run: ICellRun): string {
  return `${run.cell_id ?? ''}:${run.started_at}:${run.post_mortem?.pid ?? ''}`;
}

/**
 * The guard state of one heap model.
 */
export class GuardState implements IDisposable {
  /**
   * Construct the state and follow the model.
   *
   * @param model - the heap model.
   * @param now - the clock (seconds since the epoch), for tests.
   */
  constructor(model: HeapModel, now: () => number = () => Date.now() / 1000) {
    this._model = model;
    this._now = now;
    model.changed.connect(this._onModelChanged, this);
    this._onModelChanged(model, { kind: 'history', cellId: null });
  }

  /**
   * The model followed.
   */
  get model(): HeapModel {
    return this._model;
  }

  /**
   * The warning in force (`status.memory_warning`), or null.
   */
  get warning(): IMemoryWarning | null {
    return this._model.status?.memory_warning ?? null;
  }

  /**
   * Emitted when a cell's guard state changes (its badge must be drawn again); cellId null: any.
   */
  get changed(): ISignal<this, { cellId: string | null }> {
    return this._changed;
  }

  /**
   * Emitted once per run for a soft warning, a guard stop, a killed run.
   */
  get alerted(): ISignal<this, IGuardAlert> {
    return this._alerted;
  }

  /**
   * Whether the state is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * The highest warning a run got while it ran, or null.
   *
   * @param seq - the run's seq.
   */
  warnedLevel(seq: number | undefined): 'soft' | 'hard' | null {
    return seq === undefined ? null : (this._warned.get(seq) ?? null);
  }

  /**
   * The guard state of a cell's badge.
   *
   * @param run - its last finished run, if any.
   * @param running - the cell's running start, when it runs now.
   */
  badgeState(run: ICellRun | undefined, running: ICellStart | null): GuardBadgeState {
    if (running) {
      return runningBadgeState(running, this.warning);
    }
    return run ? runBadgeState(run, this.warnedLevel(run.seq)) : 'none';
  }

  /**
   * The killed run the panel shows, or null.
   */
  get killed(): ICellRun | null {
    return latestKilled(this._model.cells, this._dismissed);
  }

  /**
   * Stop showing a post-mortem in the panel.
   *
   * @param run - the killed run.
   */
  dismiss(run: ICellRun): void {
    this._dismissed.add(killedKey(run));
    this._changed.emit({ cellId: null });
  }

  /**
   * Dispose of the state (idempotent).
   */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.changed.disconnect(this._onModelChanged, this);
    Signal.clearData(this);
  }

  private _onModelChanged(model: HeapModel, args: HeapModel.IChangedArgs): void {
    if (args.kind === 'clear') {
      // Another kernel: its seqs start again.
      this._warned.clear();
      this._changed.emit({ cellId: null });
      return;
    }
    if (args.kind === 'status' || args.kind === 'history') {
      const warning = model.status?.memory_warning;
      if (warning) {
        const before = this._warned.get(warning.seq);
        if (before !== 'hard' && before !== warning.level) {
          this._warned.set(warning.seq, warning.level);
          this._changed.emit({ cellId: warning.cell_id ?? null });
        }
      }
      const alert = warningAlert(model.status, this._seen);
      if (alert) {
        this._alerted.emit(alert);
      }
    }
    if (args.kind === 'history' || args.kind === 'cell') {
      const runs = args.kind === 'cell' ? model.cells.slice(-1) : model.cells;
      for (const alert of killedAlerts(runs, this._seen, this._now())) {
        this._alerted.emit(alert);
      }
    }
  }

  private _model: HeapModel;
  private _now: () => number;
  private _warned = new Map<number, 'soft' | 'hard'>();
  private _seen = new Set<string>();
  private _dismissed = new Set<string>();
  private _changed = new Signal<this, { cellId: string | null }>(this);
  private _alerted = new Signal<this, IGuardAlert>(this);
  private _isDisposed = false;
}

/**
 * The guard state of a model, made on first use and kept as long as the model.
 *
 * @param model - a heap model.
 */
export function guardStateFor(model: HeapModel): GuardState {
  let state = Private.states.get(model);
  if (!state || state.isDisposed) {
    state = new GuardState(model);
    Private.states.set(model, state);
  }
  return state;
}

/**
 * A sentence for a guard-stopped run (badge tooltip, detail).
 *
 * @param run - a run with status `guard`.
 */
export function stoppedText(run: ICellRun): string {
  return guardStopText(run.guard_stop);
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * The state of each model.
   */
  export const states = new WeakMap<HeapModel, GuardState>();
}
