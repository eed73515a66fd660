/**
 * The plotly lifecycle shared by the heap chart and the panel's secondary plots: load plotly on
 * first use, draw only while visible, serialise draws, resize with the widget, purge on dispose.
 */
import type { Message } from '@lumino/messaging';
import type { Data, Layout } from 'plotly.js-dist-min';
import { Widget } from '@lumino/widgets';

import { loadPlotly, PlotlyModule } from './plotlyLoader';
import { IChartTheme, resolveChartTheme } from './theme';
import { CHART_CONFIG } from './traces';

/**
 * A plotly figure: traces and layout.
 */
export interface IPlotFigure {
  /**
   * The traces.
   */
  data: Data[];
  /**
   * The layout.
   */
  layout: Partial<Layout>;
}

/**
 * A widget that draws one plotly figure.
 *
 * #### Notes
 * Subclasses build the figure from concrete theme colours in {@link PlotWidget.buildFigure}
 * (null: nothing to draw, the plot is purged) and call `update()` when it changes. Lumino
 * conflates update requests; a draw requested while one runs runs after it. `Plotly.react`
 * diffs against the previous figure.
 */
export abstract class PlotWidget extends Widget {
  /**
   * Construct the widget.
   *
   * @param options - the node plotly draws into (default: the widget's node).
   */
  constructor(options: PlotWidget.IOptions = {}) {
    super();
    this.plotNode = options.plotNode ?? (this.node as HTMLDivElement);
    if (this.plotNode !== this.node) {
      this.node.appendChild(this.plotNode);
    }
  }

  /**
   * Read the theme colours again and redraw (call it when the theme changes).
   */
  refreshTheme(): void {
    this._theme = null;
    this.update();
  }

  /**
   * Dispose of the widget and plotly's state (idempotent).
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.purge();
    super.dispose();
  }

  /**
   * The node plotly draws into.
   */
  protected readonly plotNode: HTMLDivElement;

  /**
   * How long the last draw took, in milliseconds (0 before the first).
   */
  protected get lastDrawMs(): number {
    return this._lastDrawMs;
  }

  /**
   * Whether a figure is drawn now.
   */
  protected get plotted(): boolean {
    return this._plotted;
  }

  /**
   * Build the figure to draw, or null for none.
   *
   * @param theme - the theme's colours, resolved from the widget's node.
   */
  protected abstract buildFigure(theme: IChartTheme): IPlotFigure | null;

  /**
   * Called after each successful draw (e.g. to bind plotly events once).
   *
   * @param _plotly - the plotly module.
   */
  protected onDrawn(_plotly: PlotlyModule): void {
    // Nothing by default.
  }

  /**
   * Called when plotly could not be loaded.
   *
   * @param _error - why.
   */
  protected onLoadFailed(_error: unknown): void {
    // Nothing by default.
  }

  /**
   * Whether the figure is empty; cheap, checked before plotly is loaded (default: false).
   */
  protected isEmpty(): boolean {
    return false;
  }

  /**
   * Remove the drawn figure and plotly's state from the node.
   */
  protected purge(): void {
    if (this._plotly && this._plotted) {
      this._plotly.purge(this.plotNode);
    }
    this._plotted = false;
  }

  /**
   * Draw on update requests.
   */
  protected onUpdateRequest(_msg: Message): void {
    void this._render();
  }

  /**
   * Catch up when shown.
   */
  protected onAfterShow(_msg: Message): void {
    this.update();
  }

  /**
   * Take plotly's hover label down before hiding: otherwise it is still there when the view is
   * shown again (a tab switch, a collapsed sidebar), pointing at nothing.
   */
  protected onBeforeHide(_msg: Message): void {
    this.unhover();
  }

  /**
   * Remove plotly's hover label and spike lines, if any.
   */
  protected unhover(): void {
    if (this._plotly && this._plotted) {
      try {
        (this._plotly as unknown as { Fx?: { unhover(node: HTMLElement): void } }).Fx?.unhover(this.plotNode);
      } catch {
        // Not drawn yet.
      }
    }
    this.plotNode.querySelectorAll('.hoverlayer > *').forEach(node => node.remove());
  }

  /**
   * Follow the widget's size.
   */
  protected onResize(_msg: Widget.ResizeMessage): void {
    if (this._plotly && this._plotted && this.isVisible) {
      // Typed void, but returns a promise that rejects for a plot that is not displayed.
      Promise.resolve(this._plotly.Plots.resize(this.plotNode) as unknown).catch(() => undefined);
    }
  }

  /**
   * Draw; a draw requested meanwhile runs after this one.
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
    if (this.isEmpty()) {
      this.purge();
      return;
    }
    let plotly: PlotlyModule;
    try {
      plotly = this._plotly ?? (await loadPlotly());
    } catch (error) {
      console.error('heapscope: could not load plotly.js', error);
      this.onLoadFailed(error);
      return;
    }
    this._plotly = plotly;
    if (this.isDisposed) {
      return;
    }
    this._theme = this._theme ?? resolveChartTheme(this.node);
    const figure = this.buildFigure(this._theme);
    if (!figure) {
      this.purge();
      return;
    }
    try {
      const started = performance.now();
      await plotly.react(this.plotNode, figure.data, figure.layout, CHART_CONFIG);
      this._lastDrawMs = performance.now() - started;
      this._plotted = true;
      this.onDrawn(plotly);
    } catch (error) {
      console.error('heapscope: could not draw a chart', error);
    }
  }

  private _plotly: PlotlyModule | null = null;
  private _plotted = false;
  private _lastDrawMs = 0;
  private _theme: IChartTheme | null = null;
  private _rendering = false;
  private _renderAgain = false;
}

/**
 * A namespace for PlotWidget statics.
 */
export namespace PlotWidget {
  /**
   * The options of a plot widget.
   */
  export interface IOptions {
    /**
     * The node plotly draws into, appended to the widget's node (default: the widget's node).
     */
    plotNode?: HTMLDivElement;
  }
}
