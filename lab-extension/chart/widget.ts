/**
 * The heap chart widget: draws a heap model with plotly, loaded on first use.
 */
import type { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';

import type { ICellRun } from '../comm/protocol';
import { addGuardTraces } from '../guard/chartTraces';
import { resolveGuardColours } from '../guard/theme';
import type { HeapModel } from '../model/model';
import { heapNowAfterLastRun } from '../holders/now';
import { budgetState } from '../budget/state';
import { Throttle } from '../util/throttle';
import { xTicks } from './labels';
import { loadPlotly, PlotlyModule, warmUpPlotly } from './plotlyLoader';
import { IPlotFigure, PlotWidget } from './plotWidget';
import { ScaleMode, SCALE_MODES } from './scale';
import { escapePlotlyText, HeapSeries } from './series';
import type { IChartTheme } from './theme';
import { buildHeapFigure, TRACE_INDEX } from './traces';

/**
 * The CSS class of the chart node (part of the DOM contract in docs/architecture.md).
 */
export const CHART_CLASS = 'jp-heapscope-Chart';

/**
 * The least time between two redraws while cells run, in milliseconds (at most 4 a second).
 */
export const MIN_REDRAW_MS = 250;

/**
 * The chart takes at most this share of the main thread while cells run: after a draw of d ms
 * the next waits at least d / share ms (a 60 ms draw of 500 runs: at most one every 1.2 s). At
 * 0.1 the draws were ~0.5 s of a 5 s Run All of 300 small cells with the panel open (issue 11).
 */
export const MAX_DRAW_SHARE = 0.05;

/**
 * Runs that arrive less than this many milliseconds apart are a burst (Run All): the range slider
 * hides until the burst has been over this long. With it, a Run All of 300 small cells had single
 * draws over 200 ms (the slider draws every trace twice, and its coming and going replots in full).
 */
export const BURST_GAP_MS = 1000;

/**
 * A chart of the heap across executed cells.
 *
 * #### Notes
 * Model changes are throttled to a few redraws a second ({@link MIN_REDRAW_MS}, on an animation
 * frame); none happen while the chart is hidden, it catches up when shown (see
 * {@link PlotWidget}). The data arrays are kept between redraws and only grow by the new runs
 * ({@link HeapSeries}); `Plotly.react` reuses them (`datarevision`).
 */
export class HeapChart extends PlotWidget {
  /**
   * Construct a chart.
   */
  constructor() {
    super({ plotNode: Private.plotNode() });
    this.addClass(CHART_CLASS);
    const controls = Private.controls(scale => (this.scale = scale));
    this._select = controls.querySelector('select')!;
    this.node.insertBefore(controls, this.plotNode);
    this.node.dataset.scale = this._scale;
    this._throttle = new Throttle(() => this.update(), { interval: MIN_REDRAW_MS });
    budgetState.ghostChanged.connect(this._onGhostChanged, this);
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
    this._series = new HeapSeries();
    this._view = null;
    model?.changed.connect(this._onModelChanged, this);
    if (model?.status) {
      Private.preloadPlotly();
    }
    this.update();
  }

  /**
   * How the y axis is scaled: linear, log, or linear with outliers clipped.
   */
  get scale(): ScaleMode {
    return this._scale;
  }
  set scale(value: ScaleMode) {
    if (!SCALE_MODES.includes(value) || value === this._scale) {
      return;
    }
    this._scale = value;
    this._select.value = value;
    this.node.dataset.scale = value;
    this.update();
  }

  /**
   * How many times a second the chart may redraw for live ticks (default 4, at most
   * 1000 / {@link MIN_REDRAW_MS}; fewer when a draw takes long, see {@link MAX_DRAW_SHARE}).
   */
  get liveRate(): number {
    return 1000 / this._throttle.interval;
  }
  set liveRate(value: number) {
    const rate = Number.isFinite(value) && value > 0 ? value : 1000 / MIN_REDRAW_MS;
    this._baseInterval = Math.max(MIN_REDRAW_MS, 1000 / rate);
    this._throttle.interval = Math.max(this._baseInterval, this.lastDrawMs / MAX_DRAW_SHARE);
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
    this._throttle.dispose();
    this._endBurst();
    Signal.clearData(this);
    super.dispose();
  }

  protected isEmpty(): boolean {
    const model = this._model;
    return !model || (model.cells.length === 0 && model.running === null);
  }

  protected buildFigure(theme: IChartTheme): IPlotFigure | null {
    const model = this._model;
    if (!model || this.isEmpty()) {
      return null;
    }
    this._throttle.cancel();
    const figure = buildHeapFigure(
      {
        cells: model.cells,
        running: model.running,
        ticks: model.ticks,
        cellsVersion: model.cellsVersion,
        ghost: budgetState.ghostTraceFor(model),
        now: heapNowAfterLastRun(model)
      },
      theme,
      {
        scale: this._scale,
        plotWidth: this._plotWidth(),
        view: this._view,
        series: this._series,
        rangeSlider: this._burstTimer === null
      }
    );
    // The memory guard (issue 12): RSS beside the heap, the limit and the soft threshold.
    const slots = this._series.runs.length + (model.running ? 1 : 0);
    const live = model.running ? { running: model.running, rss: model.rssTicks } : null;
    return addGuardTraces(
      figure,
      this._series.runs,
      slots,
      model.status,
      resolveGuardColours(this.node),
      this._scale,
      live
    );
  }

  protected onDrawn(plotly: PlotlyModule): void {
    this._plotlyModule = plotly;
    this._throttle.interval = Math.max(this._baseInterval, this.lastDrawMs / MAX_DRAW_SHARE);
    const node = this.plotNode as HTMLDivElement & {
      on?: (event: string, handler: (e: never) => void) => void;
    };
    if (!this._eventsBound && typeof node.on === 'function') {
      this._eventsBound = true;
      node.on('plotly_click', (event: Private.IClickEvent) => this._onPlotClick(event));
      node.on('plotly_relayout', (event: { [key: string]: unknown }) => this._onRelayout(event));
    }
  }

  protected onLoadFailed(_error: unknown): void {
    this.plotNode.textContent = 'The chart library could not be loaded.';
  }

  protected purge(): void {
    // plotly.purge drops the event handlers too.
    this._eventsBound = false;
    super.purge();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    const before = this._width;
    this._width = 0;
    super.onResize(msg);
    // Another width fits another number of labels: redraw now (Lumino runs one update a frame), not
    // after the spacing the throttle keeps while cells run (a second or more after a slow draw).
    if (this.isVisible && this.plotted && Math.abs(this._plotWidth() - before) > 20) {
      this._throttle.cancel();
      this.update();
    }
  }

  protected onAfterShow(msg: Message): void {
    this._width = 0;
    super.onAfterShow(msg);
  }

  /**
   * The plot area's width in pixels (the node's width less the y axis and margins).
   */
  private _plotWidth(): number {
    // Read at every draw (a few a second at most): a sidebar resize is not always announced.
    this._width = Math.max(0, this.plotNode.clientWidth - 80);
    return this._width || 300;
  }

  /**
   * The notebook drawn is compared with another run, or no longer: draw the ghost.
   */
  private _onGhostChanged(_: unknown, model: HeapModel): void {
    if (model === this._model && this.isVisible) {
      this._throttle.request();
    }
  }

  private _onModelChanged(_: HeapModel, args: HeapModel.IChangedArgs): void {
    if (args.kind === 'status' || args.kind === 'history') {
      // A heapscope kernel: parse plotly while the page is idle, not when the first cell
      // message arrives or the panel opens (a single task of a second or more on a slow machine).
      Private.preloadPlotly();
    }
    if (args.kind === 'status' && this._model) {
      // A fresh status between cells (after a release in the Holders view) moves the "now" marker.
      const now = heapNowAfterLastRun(this._model);
      if (now !== this._heapNow) {
        this._heapNow = now;
        if (this.isVisible) {
          this._throttle.request();
        }
        return;
      }
    }
    if (args.kind === 'status') {
      // The memory limit and the guard's thresholds are drawn: redraw when they change.
      const key = Private.guardKey(this._model);
      if (key === this._guardKey) {
        return;
      }
      this._guardKey = key;
    }
    if (args.kind === 'detail' || args.kind === 'retained') {
      return;
    }
    if (args.kind === 'history' || args.kind === 'clear') {
      this._view = null;
    }
    if (args.kind === 'cell') {
      this._noteRun();
    }
    // Hidden: nothing to do, the chart draws when shown.
    if (!this.isVisible) {
      return;
    }
    this._throttle.request();
  }

  /**
   * A run arrived: one less than {@link BURST_GAP_MS} after the last starts or extends a burst, which
   * ends (and brings the range slider back) {@link BURST_GAP_MS} after the last run.
   */
  private _noteRun(): void {
    const now = performance.now();
    const burst = this._burstTimer !== null || now - this._lastRunAt < BURST_GAP_MS;
    this._lastRunAt = now;
    if (!burst) {
      return;
    }
    this._endBurst();
    this._burstTimer = window.setTimeout(() => {
      this._burstTimer = null;
      if (this.isVisible) {
        this._throttle.request();
      }
    }, BURST_GAP_MS);
  }

  private _endBurst(): void {
    if (this._burstTimer !== null) {
      window.clearTimeout(this._burstTimer);
      this._burstTimer = null;
    }
  }

  /**
   * The user zoomed or panned (drag, range slider, double click): thin the labels for the view.
   */
  private _onRelayout(event: { [key: string]: unknown }): void {
    let view: [number, number] | null | undefined;
    const range = event['xaxis.range'];
    if (Array.isArray(range) && range.length === 2) {
      view = [Number(range[0]), Number(range[1])];
    } else if (event['xaxis.range[0]'] !== undefined && event['xaxis.range[1]'] !== undefined) {
      view = [Number(event['xaxis.range[0]']), Number(event['xaxis.range[1]'])];
    } else if (event['xaxis.autorange'] !== undefined) {
      view = null;
    }
    if (view === undefined || !this._plotlyModule || this.isDisposed) {
      return;
    }
    this._view = view;
    const labels = this._series.labels;
    const model = this._model;
    const all = model?.running ? [...labels, { count: `[${model.running.execution_count ?? '?'}]`, code: '' }] : labels;
    const ticks = xTicks(all, view ?? [-0.5, all.length - 0.5], this._plotWidth(), escapePlotlyText);
    void Promise.resolve(
      this._plotlyModule.relayout(this.plotNode, {
        'xaxis.tickvals': ticks.tickvals,
        'xaxis.ticktext': ticks.ticktext
      } as Parameters<PlotlyModule['relayout']>[1])
    ).catch(() => undefined);
  }

  private _onPlotClick(event: Private.IClickEvent): void {
    const point = event?.points?.[0];
    const curves: number[] = [TRACE_INDEX.peak, TRACE_INDEX.start, TRACE_INDEX.end];
    const cell = point && curves.includes(point.curveNumber) ? this._series.runs[point.pointIndex] : undefined;
    if (cell) {
      this._cellClicked.emit(cell);
    }
  }

  private _model: HeapModel | null = null;
  private _series = new HeapSeries();
  private _scale: ScaleMode = 'linear';
  private _select: HTMLSelectElement;
  private _view: [number, number] | null = null;
  private _width = 0;
  private _eventsBound = false;
  private _plotlyModule: PlotlyModule | null = null;
  private _throttle: Throttle;
  private _baseInterval = MIN_REDRAW_MS;
  private _cellClicked = new Signal<this, ICellRun>(this);
  private _heapNow: number | null = null;
  private _lastRunAt = -Infinity;
  private _burstTimer: number | null = null;
  private _guardKey = '';
}

/**
 * A module-private namespace.
 */
namespace Private {
  let preloading = false;

  /**
   * What of a status the chart draws: the limit and the guard's soft threshold.
   */
  export function guardKey(model: HeapModel | null): string {
    const status = model?.status;
    const limit = status?.memory_limit?.bytes ?? 0;
    const near = limit > 0 && (status?.usage_bytes ?? 0) >= limit / 2;
    return `${limit}:${status?.memory_limit?.source ?? ''}:${status?.guard?.on ?? ''}:${status?.guard?.soft ?? ''}:${near}`;
  }

  /**
   * Load plotly once, when the page is idle.
   */
  export function preloadPlotly(): void {
    if (preloading) {
      return;
    }
    preloading = true;
    const load = () =>
      void loadPlotly()
        .then(plotly => whenIdle(() => void warmUpPlotly(plotly)))
        .catch(() => (preloading = false));
    whenIdle(load);
  }

  function whenIdle(fn: () => void): void {
    if (typeof requestIdleCallback === 'function') {
      requestIdleCallback(fn, { timeout: 10000 });
    } else {
      setTimeout(fn, 1000);
    }
  }

  /**
   * The node plotly draws the chart into.
   */
  export function plotNode(): HTMLDivElement {
    const node = document.createElement('div');
    node.className = 'jp-heapscope-Chart-plot';
    return node;
  }

  /**
   * The words of the scale modes.
   */
  const SCALE_LABELS: { [mode in ScaleMode]: string } = {
    linear: 'linear',
    log: 'log',
    clip: 'clip outliers'
  };

  /**
   * The chart's controls: the y scale.
   */
  export function controls(onScale: (scale: ScaleMode) => void): HTMLElement {
    const node = document.createElement('div');
    node.className = 'jp-heapscope-Chart-controls';
    const label = document.createElement('label');
    label.className = 'jp-heapscope-Chart-scaleLabel';
    label.textContent = 'y scale ';
    const select = document.createElement('select');
    select.className = 'jp-heapscope-Chart-scale';
    select.title = 'How the heap axis is scaled: linear from 0, logarithmic, or clip the few runs far above the rest';
    for (const mode of SCALE_MODES) {
      const option = document.createElement('option');
      option.value = mode;
      option.textContent = SCALE_LABELS[mode];
      select.appendChild(option);
    }
    select.addEventListener('change', () => onScale(select.value as ScaleMode));
    label.appendChild(select);
    node.appendChild(label);
    return node;
  }

  /**
   * The part of plotly's click event the chart reads.
   */
  export interface IClickEvent {
    points?: { curveNumber: number; pointIndex: number }[];
  }
}
