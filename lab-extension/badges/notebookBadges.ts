/**
 * The badges of one notebook, kept in step with its heap model and its cells.
 */
import type { Cell, ICodeCellModel } from '@jupyterlab/cells';
import type { CellList, Notebook } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import type { PanelLayout } from '@lumino/widgets';

import { guardStateFor, GuardState } from '../guard/state';
import type { HeapModel } from '../model/model';
import type { ICellRun } from '../comm/protocol';
import { budgetKeys } from '../budget/budget';
import { decorateBadge } from '../budget/decoration';
import { decorateRelease } from '../holders/badge';
import type { HoldersState } from '../holders/state';
import { budgetState, IBudgetChange } from '../budget/state';
import { CellBadge } from './badge';
import { badgeLevel, BadgeSettings } from './thresholds';

/**
 * How long a cell's first run goes on before it gets a live badge, in milliseconds.
 */
export const RUNNING_BADGE_DELAY = 400;

/**
 * The cell metadata key of the persisted figures.
 */
export const PERSIST_KEY = 'heapscope';

/**
 * The figures written into a cell's metadata when the `persistInMetadata` setting is on.
 *
 * @param run - the cell's last run.
 */
export function persistedSummary(run: ICellRun): { [key: string]: number | string | null } {
  return {
    execution_count: run.execution_count,
    net_bytes: run.end_bytes - run.start_bytes,
    peak_added_bytes: run.peak_bytes - run.start_bytes,
    start_bytes: run.start_bytes,
    peak_bytes: run.peak_bytes,
    end_bytes: run.end_bytes,
    status: run.status
  };
}

/**
 * Puts a badge under every code cell of a notebook that has a finished run in the heap model.
 *
 * #### Notes
 * Badges are Lumino widgets appended to the cell's layout, so they go away with their cell.
 * A cell not rendered yet (notebook windowing) gets its badge when it is rendered (`cell.ready`).
 * Cells are found by model id on every change of the notebook's cell list, so re-created
 * (moved, re-run, re-rendered) cells get their badge back. Nothing is written to the notebook unless the
 * `persistInMetadata` setting asks for it.
 */
export class NotebookBadges implements IDisposable {
  /**
   * Construct the badges of a notebook.
   *
   * @param options - the notebook, its heap model and the badge settings.
   */
  constructor(options: NotebookBadges.IOptions) {
    this._notebook = options.notebook;
    this._model = options.model;
    this._settings = options.settings;
    this._onActivate = options.onActivate;
    this._runningDelay = options.runningBadgeDelay ?? RUNNING_BADGE_DELAY;
    // The memory guard's state first: it reads a status before the badges are drawn for it.
    this._guard = guardStateFor(this._model);
    this._guard.changed.connect(this._onGuardChanged, this);
    this._model.changed.connect(this._onModelChanged, this);
    this._settings.changed.connect(this._refreshAll, this);
    budgetState.changed.connect(this._onBudgetChanged, this);
    this._model.holders.changed.connect(this._onHoldersChanged, this);
    this._notebook.modelChanged.connect(this._onNotebookModelChanged, this);
    this._onNotebookModelChanged();
  }

  /**
   * Whether the badges are disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Remove every badge (idempotent).
   */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._timers.forEach(timer => clearTimeout(timer));
    this._timers.clear();
    this._dirty.clear();
    this._cells?.changed.disconnect(this._refreshAll, this);
    this._badges.forEach(badge => badge.dispose());
    this._badges.clear();
    Signal.disconnectReceiver(this);
  }

  private _onNotebookModelChanged(): void {
    this._cells?.changed.disconnect(this._refreshAll, this);
    this._cells = this._notebook.model?.cells ?? null;
    this._cells?.changed.connect(this._refreshAll, this);
    this._refreshAll();
  }

  private _onModelChanged(_: HeapModel, args: HeapModel.IChangedArgs): void {
    if (args.kind === 'status' || args.kind === 'detail' || args.kind === 'retained') {
      return;
    }
    const cellId = args.cellId;
    if ((args.kind === 'cell' || args.kind === 'cell-start' || args.kind === 'ticks') && cellId !== null) {
      if (args.kind === 'cell-start' && this._runningCell !== null && this._runningCell !== cellId) {
        // The previous running cell ended without a `cell` message we saw: render it again.
        this._mark(this._runningCell);
      }
      this._runningCell = this._model.running?.cell_id ?? null;
      if (args.kind === 'cell-start' && !this._hasBadge(cellId)) {
        // A cell's first run: its badge appears when it ends, or as a live badge once it has
        // run for a while. Short cells (a Run All) then change their height once, not twice.
        this._later(cellId);
      } else {
        this._mark(cellId);
      }
      if (args.kind === 'cell' && this._settings.persist) {
        this._persist(cellId);
      }
      return;
    }
    this._runningCell = this._model.running?.cell_id ?? null;
    this._dirty.clear();
    this._refreshAll();
  }

  /**
   * A cell crossed the soft threshold (or any cell's guard state changed): draw it again.
   */
  private _onGuardChanged(_: GuardState, args: { cellId: string | null }): void {
    if (args.cellId !== null) {
      this._mark(args.cellId);
    } else {
      this._refreshAll();
    }
  }

  /**
   * A budget, the comparison or the retained figures changed: draw the badges concerned again.
   */
  private _onBudgetChanged(_: unknown, args: IBudgetChange): void {
    if (args.notebook !== null && args.notebook !== this._notebook) {
      return;
    }
    if (args.cellId !== null) {
      this._mark(args.cellId);
    } else {
      this._refreshAll();
    }
  }

  private _onHoldersChanged(_: HoldersState, kind: HoldersState.ChangeKind): void {
    // A release (rare) shows on the badge of the cell that bound the name.
    if (kind === 'released' || kind === 'clear') {
      this._refreshAll();
    }
  }

  /**
   * Render a cell's badge on the next animation frame, with every other badge that changed
   * meanwhile (one layout for a burst of messages).
   */
  private _mark(cellId: string): void {
    this._dirty.add(cellId);
    if (this._frame === null) {
      this._frame = Private.nextFrame(() => this._flush());
    }
  }

  private _flush(): void {
    this._frame = null;
    if (this._isDisposed) {
      return;
    }
    const ids = Array.from(this._dirty);
    this._dirty.clear();
    ids.forEach(id => this._renderById(id));
  }

  /**
   * Render a cell's live badge if it is still running after {@link RUNNING_BADGE_DELAY}.
   */
  private _later(cellId: string): void {
    const timer = setTimeout(() => {
      this._timers.delete(timer);
      if (!this._isDisposed && this._model.running?.cell_id === cellId) {
        this._mark(cellId);
      }
    }, this._runningDelay);
    this._timers.add(timer);
  }

  /**
   * Whether a cell id has a badge now.
   */
  private _hasBadge(cellId: string): boolean {
    return (this._cellIndex().get(cellId) ?? []).some(cell => this._badges.has(cell));
  }

  /**
   * Render the badges of one cell id: found through an index of the notebook's cells, rebuilt
   * only after the cell list changed (O(1) per message instead of a walk over every cell).
   */
  private _renderById(cellId: string): void {
    let cells = this._index?.get(cellId);
    if (!cells || cells.some(cell => cell.isDisposed)) {
      this._index = null;
      cells = this._cellIndex().get(cellId);
    }
    for (const cell of cells ?? []) {
      this._render(cell);
    }
  }

  /**
   * The notebook's cells by model id.
   */
  private _cellIndex(): Map<string, Cell[]> {
    if (!this._index) {
      this._index = new Map();
      for (const cell of this._notebook.widgets) {
        const list = this._index.get(cell.model.id);
        if (list) {
          list.push(cell);
        } else {
          this._index.set(cell.model.id, [cell]);
        }
      }
    }
    return this._index;
  }

  /**
   * Write a cell's last figures into its metadata (the `persistInMetadata` setting).
   */
  private _persist(cellId: string): void {
    const run = this._model.lastRun(cellId);
    const cell = this._cellIndex().get(cellId)?.[0];
    if (!run || !cell || cell.model.type !== 'code') {
      return;
    }
    // A budget the cell's metadata holds under the same key stays.
    const summary = { ...budgetKeys(cell.model.getMetadata(PERSIST_KEY)), ...persistedSummary(run) };
    if (JSON.stringify(cell.model.getMetadata(PERSIST_KEY)) !== JSON.stringify(summary)) {
      cell.model.setMetadata(PERSIST_KEY, summary);
    }
  }

  /**
   * Render the badge of every cell, and drop badges of cells that are gone.
   */
  private _refreshAll(): void {
    this._index = null;
    const present = new Set<Cell>();
    for (const cell of this._notebook.widgets) {
      present.add(cell);
      this._render(cell);
    }
    this._badges.forEach((badge, cell) => {
      if (!present.has(cell)) {
        badge.dispose();
        this._badges.delete(cell);
      }
    });
  }

  /**
   * Create, update or remove the badge of one cell.
   */
  private _render(cell: Cell): void {
    let badge = this._badges.get(cell);
    if (badge?.isDisposed) {
      // Disposed with its cell.
      this._badges.delete(cell);
      badge = undefined;
    }
    const cellId = cell.model.id;
    const isCode = cell.model.type === 'code';
    const run = isCode ? this._model.lastRun(cellId) : undefined;
    const running = isCode && this._model.running?.cell_id === cellId ? this._model.running : null;
    if (!run && !running) {
      if (badge) {
        badge.dispose();
        this._badges.delete(cell);
      }
      return;
    }
    if (!badge) {
      badge = new CellBadge({ cellId, onActivate: this._onActivate });
      this._badges.set(cell, badge);
      Private.attachWhenReady(cell, badge);
    }
    const level = run ? badgeLevel(run, this._settings.thresholds) : 'normal';
    const live = running ? { start: running, ticks: this._model.ticks, peak: this._model.livePeak } : null;
    const interrupted = !!run && run.status === 'error' && Private.showsInterrupt(cell);
    badge.setRun(
      run,
      this._model.runs(cellId),
      level,
      live,
      this._settings.tooltipRuns,
      interrupted,
      this._guard.badgeState(run, running)
    );
    decorateBadge(badge, cell, run, this._model, this._notebook);
    decorateRelease(badge, cellId, this._model.runs(cellId).length, this._model.holders);
  }

  private _notebook: Notebook;
  private _onActivate: ((cellId: string) => void) | undefined;
  private _runningCell: string | null = null;
  private _model: HeapModel;
  private _guard: GuardState;
  private _settings: BadgeSettings;
  private _cells: CellList | null = null;
  private _badges = new Map<Cell, CellBadge>();
  private _index: Map<string, Cell[]> | null = null;
  private _dirty = new Set<string>();
  private _runningDelay: number;
  private _frame: unknown = null;
  private _timers = new Set<ReturnType<typeof setTimeout>>();
  private _isDisposed = false;
}

/**
 * A namespace for NotebookBadges statics.
 */
export namespace NotebookBadges {
  /**
   * The options of a notebook's badges.
   */
  export interface IOptions {
    /**
     * The notebook widget.
     */
    notebook: Notebook;
    /**
     * The heap model of the notebook's kernel.
     */
    model: HeapModel;
    /**
     * The badge settings.
     */
    settings: BadgeSettings;
    /**
     * Called with a cell's id when its badge is clicked (opens the drill-down).
     */
    onActivate?: (cellId: string) => void;
    /**
     * How long a cell's first run goes on before it gets a live badge, in milliseconds
     * (default {@link RUNNING_BADGE_DELAY}).
     */
    runningBadgeDelay?: number;
  }
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * Run a callback on the next animation frame (a timer where there are no frames).
   */
  export function nextFrame(cb: () => void): unknown {
    return typeof requestAnimationFrame === 'function' ? requestAnimationFrame(() => cb()) : setTimeout(cb, 16);
  }

  /**
   * Whether a code cell's outputs end in a KeyboardInterrupt: protocol 2 reports an interrupted
   * run with the status `error`, and the error output is how the browser tells them apart.
   */
  export function showsInterrupt(cell: Cell): boolean {
    const outputs = (cell.model as Partial<ICodeCellModel>).outputs;
    if (!outputs) {
      return false;
    }
    for (let i = outputs.length - 1; i >= 0; i--) {
      const output = outputs.get(i);
      if (output.type === 'error') {
        return (output.toJSON() as { ename?: unknown }).ename === 'KeyboardInterrupt';
      }
    }
    return false;
  }

  /**
   * Append a badge to a cell once the cell has built its DOM (at once unless it is windowed out).
   */
  export function attachWhenReady(cell: Cell, badge: CellBadge): void {
    void cell.ready.then(() => {
      if (!cell.isDisposed && !badge.isDisposed && !badge.parent) {
        (cell.layout as PanelLayout).addWidget(badge);
      }
    });
  }
}
