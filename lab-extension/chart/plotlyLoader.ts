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

/**
 * Draw a throw-away plot off screen (call it while the page is idle): plotly's first draw in a page pays
 * one-time costs (its style sheet, text measuring) that would otherwise land in the first draw of
 * a Run All, as a task of ~200 ms.
 */
export async function warmUpPlotly(plotly: PlotlyModule): Promise<void> {
  const node = document.createElement('div');
  node.style.cssText = 'position:fixed;left:-10000px;top:0;width:300px;height:200px;visibility:hidden';
  document.body.appendChild(node);
  try {
    await plotly.newPlot(node, [{ x: [0, 1], y: [0, 1], type: 'scatter', mode: 'lines+markers' }], {
      width: 300,
      height: 200,
      xaxis: { title: { text: 'x' } },
      yaxis: { title: { text: 'y' } },
      showlegend: true
    });
  } catch {
    // Only a warm-up: the real draw reports its own failure.
  } finally {
    plotly.purge(node);
    node.remove();
  }
}
