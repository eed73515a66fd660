/**
 * The heap chart widget: draws a heap model with plotly, loaded on first use.
 */
import type { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import type { ICellRecord } from '../comm/protocol';
import type { HeapModel } from '../model/model';
import { loadPlotly, PlotlyModule } from './plotlyLoader';
import { IChartTheme, resolveChartTheme } from './theme';
import { buildHeapFigure, CHART_CONFIG } from './traces';

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
 * up when shown. `Plotly.react` diffs against the previous figure.
 */
export class HeapChart extends Widget {
  /**
   * Construct a chart.
   */
  constructor() {
    super();
    this.addClass(CHART_CLASS);
    this._plotNode = document.createElement('div');
    this._plotNode.className = 'jp-heapscope-Chart-plot';
    this.node.appendChild(this._plotNode);
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
   * How many times a second the chart may redraw for live samples (default 10).
   */
  get liveRate(): number {
    return this._liveRate;
  }
  set liveRate(value: number) {
    this._liveRate = Number.isFinite(value) && value > 0 ? Math.min(value, 60) : 10;
  }

  /**
   * Emitted when a finished execution's point is clicked.
   */
  get cellClicked(): ISignal<this, ICellRecord> {
    return this._cellClicked;
  }

  /**
   * Read the theme colours again and redraw (call it when the theme changes).
   */
  refreshTheme(): void {
    this._theme = null;
    this.update();
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
    if (this._plotly && this._plotted) {
      this._plotly.purge(this._plotNode);
      this._clickBound = false;
    }
    this._plotted = false;
    super.dispose();
  }

  /**
   * Draw on update requests.
   */
  protected onUpdateRequest(msg: Message): void {
    void this._render();
  }

  /**
   * Catch up when shown.
   */
  protected onAfterShow(msg: Message): void {
    this.update();
  }

  /**
   * Follow the widget's size.
   */
  protected onResize(msg: Widget.ResizeMessage): void {
    if (this._plotly && this._plotted && this.isVisible) {
      // Typed void, but returns a promise that rejects for a plot that is not displayed.
      Promise.resolve(this._plotly.Plots.resize(this._plotNode) as unknown).catch(() => undefined);
    }
  }

  private _onModelChanged(_: HeapModel, args: HeapModel.IChangedArgs): void {
    if (args.kind === 'detail' || args.kind === 'retained') {
      return;
    }
    if (args.kind !== 'samples') {
      this.update();
      return;
    }
    // Live samples: at most `liveRate` redraws a second (Lumino also conflates update requests
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

  /**
   * Draw the current model; a render requested meanwhile runs after this one.
   */
  private async _render(): Promise<void> {
    if (this._rendering) {
      this._renderAgain = true;
      return;
    }
    this._rendering = true;
    try {
      do {
        this._renderAgain = false;
        await this._renderOnce();
      } while (this._renderAgain && !this.isDisposed);
    } finally {
      this._rendering = false;
    }
  }

  private async _renderOnce(): Promise<void> {
    if (this.isDisposed || !this.isVisible) {
      return;
    }
    const model = this._model;
    const hasData = !!model && (model.cells.length > 0 || model.running !== null);
    if (!hasData) {
      if (this._plotly && this._plotted) {
        this._plotly.purge(this._plotNode);
        this._clickBound = false;
        this._plotted = false;
      }
      return;
    }
    let plotly: PlotlyModule;
    try {
      plotly = this._plotly ?? (await loadPlotly());
    } catch (error) {
      console.error('heapscope: could not load plotly.js', error);
      this._plotNode.textContent = 'The chart library could not be loaded.';
      return;
    }
    this._plotly = plotly;
    if (this.isDisposed || !this._model) {
      return;
    }
    if (!this._theme) {
      this._theme = resolveChartTheme(this.node);
    }
    const figure = buildHeapFigure(this._model, this._theme);
    this._drawnCells = this._model.cells;
    this._lastDraw = Date.now();
    try {
      await plotly.react(this._plotNode, figure.data, figure.layout, CHART_CONFIG);
      this._plotted = true;
      const node = this._plotNode as HTMLDivElement & { on?: (event: string, handler: (e: any) => void) => void };
      if (!this._clickBound && typeof node.on === 'function') {
        this._clickBound = true;
        node.on('plotly_click', event => this._onPlotClick(event));
      }
    } catch (error) {
      console.error('heapscope: could not draw the heap chart', error);
    }
  }

  private _onPlotClick(event: { points?: { curveNumber: number; pointIndex: number }[] }): void {
    const point = event?.points?.[0];
    // The first trace holds one peak marker per finished execution.
    const cell = point && point.curveNumber === 0 ? this._drawnCells[point.pointIndex] : undefined;
    if (cell) {
      this._cellClicked.emit(cell);
    }
  }

  private _model: HeapModel | null = null;
  private _drawnCells: ReadonlyArray<ICellRecord> = [];
  private _clickBound = false;
  private _liveRate = 10;
  private _liveTimer: ReturnType<typeof setTimeout> | null = null;
  private _lastDraw = 0;
  private _cellClicked = new Signal<this, ICellRecord>(this);
  private _plotNode: HTMLDivElement;
  private _plotly: PlotlyModule | null = null;
  private _plotted = false;
  private _theme: IChartTheme | null = null;
  private _rendering = false;
  private _renderAgain = false;
}
