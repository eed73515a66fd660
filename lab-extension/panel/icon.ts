/**
 * The Heap panel's icon.
 */
import { LabIcon } from '@jupyterlab/ui-components';

/**
 * A bar-chart icon for the Heap panel's sidebar tab (themed through `jp-icon3`).
 */
export const heapIcon = new LabIcon({
  name: 'heapscope:heap',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161">' +
    '<path d="M3 20h18v2H3z"/>' +
    '<path d="M5 18v-6h3.5v6zM10.25 18V5h3.5v13zM15.5 18V9H19v9z"/>' +
    '</g></svg>'
});
