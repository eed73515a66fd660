/**
 * Loads plotly.js on demand, as a separate chunk, so JupyterLab's start-up does not pay for it.
 */

/**
 * The plotly.js API.
 */
export type PlotlyModule = typeof import('plotly.js-dist-min').default;

/**
 * Load plotly.js once; later calls share the same promise.
 *
 * @returns the plotly module; a failed load is retried on the next call.
 */
export function loadPlotly(): Promise<PlotlyModule> {
  if (!Private.plotly) {
    Private.plotly = import('plotly.js-dist-min').then(
      module => ((module as any).default ?? module) as PlotlyModule,
      error => {
        Private.plotly = null;
        throw error;
      }
    );
  }
  return Private.plotly;
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * The pending or finished load.
   */
  export let plotly: Promise<PlotlyModule> | null = null;
}
