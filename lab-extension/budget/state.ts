/**
 * What the budget feature keeps between the badges, the chart and its commands: the ghost each
 * notebook is compared with, and a signal that asks the badges to draw again. One instance for the
 * page ({@link budgetState}), as the badges and the chart are built by other plugins.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { Notebook } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import type { HeapModel } from '../model/model';
import type { IRetainedEntry } from './budget';
import { ghostFromPreviousRuns, ghostTrace, IGhost, IGhostMatch, IGhostTrace, liveCells, matchGhost } from './ghost';

/**
 * What a notebook is compared with: a saved report's ghost, or the ledger's previous runs (worked
 * out again as cells run).
 */
export type GhostSource = IGhost | 'previous';

/**
 * The arguments of {@link BudgetState.changed}: the notebook whose badges should be drawn again
 * (null: every notebook) and the cell (null: every cell).
 */
export interface IBudgetChange {
  readonly notebook: Notebook | null;
  readonly cellId: string | null;
}

/**
 * The budget feature's page-wide state.
 */
export class BudgetState {
  /**
   * The application's commands, for the badges' menu button (set by the budget plugin; null
   * until then, and the badges have no menu button).
   */
  commands: JupyterFrontEnd['commands'] | null = null;

  /**
   * Emitted when badges should be drawn again (a budget, a ghost or the retained figures changed).
   */
  get changed(): ISignal<this, IBudgetChange> {
    return this._changed;
  }

  /**
   * Emitted when a notebook's ghost changed (the chart draws again).
   */
  get ghostChanged(): ISignal<this, HeapModel> {
    return this._ghostChanged;
  }

  /**
   * Ask the badges of a notebook (or of every notebook) to draw again.
   */
  refresh(notebook: Notebook | null, cellId: string | null = null): void {
    this._changed.emit({ notebook, cellId });
  }

  /**
   * Compare a notebook with a ghost, or stop comparing (null).
   *
   * @param notebook - the notebook widget.
   * @param model - its heap model.
   * @param source - the ghost.
   */
  setGhost(notebook: Notebook, model: HeapModel, source: GhostSource | null): void {
    if (source === null) {
      this._ghosts.delete(notebook);
    } else {
      this._ghosts.set(notebook, { model, source, cache: null });
    }
    this._changed.emit({ notebook, cellId: null });
    this._ghostChanged.emit(model);
  }

  /**
   * Forget a notebook (closed).
   */
  forget(notebook: Notebook): void {
    const entry = this._ghosts.get(notebook);
    if (entry) {
      this._ghosts.delete(notebook);
      this._ghostChanged.emit(entry.model);
    }
  }

  /**
   * The notebook's ghost source, or null.
   */
  ghostSource(notebook: Notebook): GhostSource | null {
    return this._ghosts.get(notebook)?.source ?? null;
  }

  /**
   * The notebook's ghost and its matches with the cells now (cached until the ledger or the cell
   * list changes).
   */
  ghostOf(notebook: Notebook): { ghost: IGhost; matches: Map<string, IGhostMatch> } | null {
    const entry = this._ghosts.get(notebook);
    if (!entry) {
      return null;
    }
    const model = entry.model;
    const ids = notebook.widgets.map(cell => cell.model.id);
    const key = `${model.cellsVersion}:${model.cells.length}:${ids.join('\u0000')}`;
    if (entry.cache?.key !== key) {
      const ghost =
        entry.source === 'previous' ? ghostFromPreviousRuns(ids, id => model.runs(id)) : (entry.source as IGhost);
      const matches = ghost
        ? matchGhost(
            ghost,
            liveCells(ids, id => model.lastRun(id))
          )
        : new Map();
      entry.cache = { key, value: ghost ? { ghost, matches } : null };
    }
    return entry.cache.value;
  }

  /**
   * The ghost trace of the notebook whose heap model this is, for the chart; null without a ghost.
   *
   * @param model - the chart's model.
   */
  ghostTraceFor(model: HeapModel): IGhostTrace | null {
    for (const [notebook, entry] of this._ghosts) {
      if (entry.model === model && !notebook.isDisposed) {
        const found = this.ghostOf(notebook);
        if (found) {
          return ghostTrace(model.cells, found.matches, found.ghost);
        }
        // The previous runs, before any cell ran twice: the legend still says what is compared.
        return { name: 'previous run', x: [], y: [], hover: [] };
      }
    }
    return null;
  }

  private _ghosts = new Map<
    Notebook,
    {
      model: HeapModel;
      source: GhostSource;
      cache: { key: string; value: { ghost: IGhost; matches: Map<string, IGhostMatch> } | null } | null;
    }
  >();
  private _changed = new Signal<this, IBudgetChange>(this);
  private _ghostChanged = new Signal<this, HeapModel>(this);
}

/**
 * The page's budget state.
 */
export const budgetState = new BudgetState();

/**
 * The retained figures budgets read from a live model: null (net growth stands in) without
 * line-level attribution or before the kernel sent them.
 *
 * @param model - the notebook's heap model.
 */
export function liveRetained(model: HeapModel): ReadonlyArray<IRetainedEntry> | null {
  if (model.status?.attribution === false) {
    return null;
  }
  return model.retainedByCell;
}
