/**
 * A small plotly view for the Heap panel's secondary charts (the icicle of a cell's peak).
 */
import { IPlotFigure, PlotWidget } from '../chart/plotWidget';
import type { IChartTheme } from '../chart/theme';

/**
 * Builds a figure from concrete theme colours.
 */
export type FigureBuilder = (theme: IChartTheme) => IPlotFigure;

/**
 * A plot drawn from a figure builder, only while visible; resized with the widget and purged on
 * dispose.
 */
export class PlotView extends PlotWidget {
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

  protected isEmpty(): boolean {
    return this._builder === null;
  }

  protected buildFigure(theme: IChartTheme): IPlotFigure | null {
    return this._builder ? this._builder(theme) : null;
  }

  private _builder: FigureBuilder | null = null;
}
