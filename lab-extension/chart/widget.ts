/**
 * The heap chart widget: draws a heap model with plotly, loaded on first use.
 */
import { ISignal, Signal } from '@lumino/signaling';

import type { ICellRun } from '../comm/protocol';
import type { HeapModel } from '../model/model';
import type { PlotlyModule } from './plotlyLoader';
import { IPlotFigure, PlotWidget } from './plotWidget';
import type { IChartTheme } from './theme';
import { buildHeapFigure } from './traces';

/**
 * The CSS class of the chart node (part of the DOM contract in docs/architecture.md).
 */
export const CHART_CLASS = 'jp-heapscope-Chart';

/**
 * A chart of the heap across executed cells.
 *
 * #### Notes
 * Model changes request an update; Lumino conflates update requests, so a burst of messages
 * draws once. The chart draws only while visible (a hidden sidebar has no size) and catches
 * up when shown (see {@link PlotWidget}).
 */
export class HeapChart extends PlotWidget {
  /**
   * Construct a chart.
   */
  constructor() {
    super({ plotNode: Private.plotNode() });
    this.addClass(CHART_CLASS);
  }

  /**
   * The model drawn, or null.
   */
  get model(): HeapModel | null {
    return this._model;
  }
  set model(model: HeapModel | null) {
    if (model === this._model) {
      return;
    }
    this._model?.changed.disconnect(this._onModelChanged, this);
    this._model = model;
    model?.changed.connect(this._onModelChanged, this);
    this.update();
  }

  /**
   * How many times a second the chart may redraw for live ticks (default 10).
   */
  get liveRate(): number {
    return this._liveRate;
  }
  set liveRate(value: number) {
    this._liveRate = Number.isFinite(value) && value > 0 ? Math.min(value, 60) : 10;
  }

  /**
   * Emitted when a finished run's point is clicked.
   */
  get cellClicked(): ISignal<this, ICellRun> {
    return this._cellClicked;
  }

  /**
   * Dispose of the chart and plotly's state (idempotent).
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model?.changed.disconnect(this._onModelChanged, this);
    this._model = null;
    if (this._liveTimer !== null) {
      clearTimeout(this._liveTimer);
      this._liveTimer = null;
    }
    Signal.clearData(this);
    super.dispose();
  }

  protected isEmpty(): boolean {
    const model = this._model;
    return !model || (model.cells.length === 0 && model.running === null);
  }

  protected buildFigure(theme: IChartTheme): IPlotFigure | null {
    if (!this._model || this.isEmpty()) {
      return null;
    }
    const figure = buildHeapFigure(this._model, theme);
    this._drawnCells = this._model.cells;
    this._lastDraw = Date.now();
    return figure;
  }

  protected onDrawn(_plotly: PlotlyModule): void {
    const node = this.plotNode as HTMLDivElement & {
      on?: (event: string, handler: (e: Private.IClickEvent) => void) => void;
    };
    if (!this._clickBound && typeof node.on === 'function') {
      this._clickBound = true;
      node.on('plotly_click', event => this._onPlotClick(event));
    }
  }

  protected onLoadFailed(_error: unknown): void {
    this.plotNode.textContent = 'The chart library could not be loaded.';
  }

  protected purge(): void {
    // plotly.purge drops the event handlers too.
    this._clickBound = false;
    super.purge();
  }

  private _onModelChanged(_: HeapModel, args: HeapModel.IChangedArgs): void {
    if (args.kind === 'detail' || args.kind === 'retained') {
      return;
    }
    if (args.kind !== 'ticks') {
      this.update();
      return;
    }
    // Live ticks: at most `liveRate` redraws a second (Lumino also conflates update requests
    // into one per animation frame).
    if (this._liveTimer !== null) {
      return;
    }
    const wait = this._lastDraw + 1000 / this._liveRate - Date.now();
    if (wait <= 0) {
      this.update();
      return;
    }
    this._liveTimer = setTimeout(() => {
      this._liveTimer = null;
      this.update();
    }, wait);
  }

  private _onPlotClick(event: Private.IClickEvent): void {
    const point = event?.points?.[0];
    // The first trace holds one peak marker per finished run.
    const cell = point && point.curveNumber === 0 ? this._drawnCells[point.pointIndex] : undefined;
    if (cell) {
      this._cellClicked.emit(cell);
    }
  }

  private _model: HeapModel | null = null;
  private _drawnCells: ReadonlyArray<ICellRun> = [];
  private _clickBound = false;
  private _liveRate = 10;
  private _liveTimer: ReturnType<typeof setTimeout> | null = null;
  private _lastDraw = 0;
  private _cellClicked = new Signal<this, ICellRun>(this);
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * The node plotly draws the chart into.
   */
  export function plotNode(): HTMLDivElement {
    const node = document.createElement('div');
    node.className = 'jp-heapscope-Chart-plot';
    return node;
  }

  /**
   * The part of plotly's click event the chart reads.
   */
  export interface IClickEvent {
    points?: { curveNumber: number; pointIndex: number }[];
  }
}
