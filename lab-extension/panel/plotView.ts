/**
 * A small plotly view for the Heap panel's secondary charts (the icicle of a cell's peak).
 */
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { CHART_CONFIG } from '../chart/traces';
import { loadPlotly, PlotlyModule } from '../chart/plotlyLoader';
import { IChartTheme, resolveChartTheme } from '../chart/theme';

/**
 * Builds a figure from concrete theme colours.
 */
export type FigureBuilder = (theme: IChartTheme) => { data: any[]; layout: any };

/**
 * A plot drawn from a figure builder, only while visible; resized with the widget and purged on
 * dispose.
 */
export class PlotView extends Widget {
  /**
   * Construct the view.
   */
  constructor() {
    super();
    this.addClass('jp-heapscope-PlotView');
  }

  /**
   * The figure to draw, or null for none.
   */
  set figure(builder: FigureBuilder | null) {
    this._builder = builder;
    this.update();
  }

  /**
   * Read the theme again and redraw.
   */
  refreshTheme(): void {
    this._theme = null;
    this.update();
  }

  /**
   * Dispose of the view and plotly's state (idempotent).
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._purge();
    super.dispose();
  }

  protected onUpdateRequest(msg: Message): void {
    void this._draw();
  }

  protected onAfterShow(msg: Message): void {
    this.update();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    if (this._plotly && this._plotted && this.isVisible) {
      void this._plotly.Plots.resize(this.node);
    }
  }

  private _purge(): void {
    if (this._plotly && this._plotted) {
      this._plotly.purge(this.node);
    }
    this._plotted = false;
  }

  private async _draw(): Promise<void> {
    if (this.isDisposed || !this.isVisible) {
      return;
    }
    if (!this._builder) {
      this._purge();
      return;
    }
    try {
      this._plotly = this._plotly ?? (await loadPlotly());
    } catch (error) {
      console.error('heapscope: could not load plotly.js', error);
      return;
    }
    if (this.isDisposed || !this._builder) {
      return;
    }
    this._theme = this._theme ?? resolveChartTheme(this.node);
    const figure = this._builder(this._theme);
    try {
      await this._plotly.react(this.node, figure.data, figure.layout, CHART_CONFIG);
      this._plotted = true;
    } catch (error) {
      console.error('heapscope: could not draw a chart', error);
    }
  }

  private _builder: FigureBuilder | null = null;
  private _plotly: PlotlyModule | null = null;
  private _plotted = false;
  private _theme: IChartTheme | null = null;
}
