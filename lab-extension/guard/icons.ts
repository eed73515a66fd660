/**
 * The guard's icons.
 */
import { LabIcon } from '@jupyterlab/ui-components';

/**
 * The "Return freed memory" icon: an arrow out of a box.
 */
export const releaseIcon = new LabIcon({
  name: 'heapscope:release',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<path class="jp-icon3" fill="#616161" d="M5 20h14v-2H5v2zm7-16-5.5 5.5 1.41 1.41L11 7.83V16h2V7.83l3.09 3.08 1.41-1.41L12 4z"/>' +
    '</svg>'
});

/**
 * The badge icon of a run the guard stopped: a shield.
 */
export const guardIcon = new LabIcon({
  name: 'heapscope:guard',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<path class="jp-icon3" fill="#616161" d="M12 1 3 5v6c0 5.55 3.84 10.74 9 12 5.16-1.26 9-6.45 9-12V5l-9-4z"/>' +
    '</svg>'
});
