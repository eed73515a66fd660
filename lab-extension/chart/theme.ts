/**
 * The chart's colours, resolved from JupyterLab's theme variables.
 *
 * plotly rejects `var(--jp-…)` strings, so the chart is given concrete values, read from the
 * computed style of a node inside JupyterLab; they are read again when the theme changes.
 */

/**
 * Concrete colours and fonts for the chart.
 */
export interface IChartTheme {
  /**
   * The chart's background.
   */
  readonly background: string;
  /**
   * Text and axis labels.
   */
  readonly foreground: string;
  /**
   * Grid lines and cell boundaries.
   */
  readonly grid: string;
  /**
   * The heap line.
   */
  readonly heap: string;
  /**
   * Text drawn on the heap colour (the icicle's boxes).
   */
  readonly onHeap: string;
  /**
   * The cells' peaks.
   */
  readonly peak: string;
  /**
   * The running cell.
   */
  readonly running: string;
  /**
   * The font family.
   */
  readonly fontFamily: string;
  /**
   * The font size in pixels.
   */
  readonly fontSize: number;
}

/**
 * The colours used where a variable is missing (JupyterLab's light theme).
 */
export const FALLBACK_THEME: IChartTheme = {
  background: '#ffffff',
  foreground: 'rgba(0, 0, 0, 0.87)',
  grid: '#e0e0e0',
  heap: '#1976d2',
  onHeap: '#ffffff',
  peak: '#f57c00',
  running: '#388e3c',
  fontFamily: 'system-ui, sans-serif',
  fontSize: 12
};

/**
 * Resolve the chart theme from JupyterLab's CSS variables.
 *
 * @param element - a node that inherits JupyterLab's theme variables.
 * @returns concrete values; the fallback for any variable that is unset or not a colour.
 */
export function resolveChartTheme(element: Element = document.body): IChartTheme {
  const style = window.getComputedStyle(element);
  const read = (name: string) => style.getPropertyValue(`--jp-${name}`).trim();
  const colour = (name: string, fallback: string) => {
    const value = read(name);
    return value && Private.isColour(value) ? value : fallback;
  };
  const fontSize = parseFloat(read('ui-font-size1'));
  return {
    background: colour('layout-color1', FALLBACK_THEME.background),
    foreground: colour('ui-font-color1', FALLBACK_THEME.foreground),
    grid: colour('border-color2', FALLBACK_THEME.grid),
    heap: colour('brand-color1', FALLBACK_THEME.heap),
    onHeap: colour('ui-inverse-font-color0', FALLBACK_THEME.onHeap),
    peak: colour('warn-color1', FALLBACK_THEME.peak),
    running: colour('success-color1', FALLBACK_THEME.running),
    fontFamily: read('ui-font-family') || FALLBACK_THEME.fontFamily,
    fontSize: Number.isFinite(fontSize) && fontSize > 0 ? fontSize : FALLBACK_THEME.fontSize
  };
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * Whether the browser accepts a value as a colour (always true where it cannot tell).
   */
  export function isColour(value: string): boolean {
    if (value.includes('var(')) {
      return false;
    }
    if (typeof CSS === 'undefined' || typeof CSS.supports !== 'function') {
      return true;
    }
    return CSS.supports('color', value);
  }
}
