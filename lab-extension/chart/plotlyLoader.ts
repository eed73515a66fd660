/**
 * Loads plotly.js on demand, as a separate chunk, so JupyterLab's start-up does not pay for it.
 */
import { defaultExport, lazyLoad } from '../util/lazy';

/**
 * The plotly.js API.
 */
export type PlotlyModule = typeof import('plotly.js-dist-min').default;

/**
 * Load plotly.js once; later calls share the same promise.
 *
 * @returns the plotly module; a failed load is retried on the next call.
 */
export const loadPlotly: () => Promise<PlotlyModule> = lazyLoad(() =>
  import('plotly.js-dist-min').then(module => defaultExport<PlotlyModule>(module))
);
