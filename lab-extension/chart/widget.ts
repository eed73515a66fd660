/**
 * The heap chart widget: draws a heap model with plotly, loaded on first use.
 */
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

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
    if (this._plotly && this._plotted) {
      this._plotly.purge(this._plotNode);
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

  private _onModelChanged(): void {
    this.update();
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
    try {
      await plotly.react(this._plotNode, figure.data, figure.layout, CHART_CONFIG);
      this._plotted = true;
    } catch (error) {
      console.error('heapscope: could not draw the heap chart', error);
    }
  }

  private _model: HeapModel | null = null;
  private _plotNode: HTMLDivElement;
  private _plotly: PlotlyModule | null = null;
  private _plotted = false;
  private _theme: IChartTheme | null = null;
  private _rendering = false;
  private _renderAgain = false;
}
