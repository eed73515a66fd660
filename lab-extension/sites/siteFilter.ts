/**
 * Which sites of a drill-down list are shown at first: small sites (below a share of the cell's
 * peak) and sites inside the kernel's own machinery (ipykernel, zmq, IPython, asyncio, …) with no
 * notebook cell on their stack are hidden behind a "show N hidden" toggle. Pure: no DOM.
 */
import type { IFrame, ISite } from '../comm/protocol';

/**
 * What a site list hides at first.
 */
export interface ISiteFilter {
  /**
   * Sites holding less than this share (0–1) of the list's base are hidden; 0 hides none.
   */
  readonly minShare: number;
  /**
   * Hide sites allocated by the kernel's own machinery (see {@link isKernelInternal}).
   */
  readonly hideKernelInternals: boolean;
}

/**
 * The default filter: below 1 % of the cell's peak, and kernel internals.
 */
export const DEFAULT_SITE_FILTER: ISiteFilter = { minShare: 0.01, hideKernelInternals: true };

/**
 * A filter that hides nothing.
 */
export const NO_SITE_FILTER: ISiteFilter = { minShare: 0, hideKernelInternals: false };

/**
 * The folders (one path component) of the packages and standard-library modules that make up
 * the kernel's machinery around a cell.
 */
export const KERNEL_INTERNAL_PACKAGES: ReadonlyArray<string> = [
  'ipykernel',
  'IPython',
  'zmq',
  'asyncio',
  'tornado',
  'jupyter_client',
  'jupyter_core',
  'traitlets',
  'comm',
  'debugpy'
];

/**
 * Standard-library files (by base name) the kernel's threads and event loop run in.
 */
export const KERNEL_INTERNAL_FILES: ReadonlyArray<string> = ['threading.py', 'selectors.py', 'socket.py', 'queue.py'];

/**
 * Whether a frame's file belongs to the kernel's machinery.
 *
 * @param frame - a frame or site.
 */
export function isKernelInternalFrame(frame: IFrame): boolean {
  if (frame.cell_line !== null || frame.cell_id !== null) {
    return false;
  }
  const parts = frame.file.split(/[\\/]/);
  const name = parts[parts.length - 1];
  const folders = parts.slice(0, -1);
  return (
    folders.some(part => KERNEL_INTERNAL_PACKAGES.includes(part)) ||
    (folders.length > 0 && KERNEL_INTERNAL_FILES.includes(name))
  );
}

/**
 * Whether a site was allocated by the kernel's own machinery: its innermost frame is in a kernel
 * package and no frame of its stack is notebook cell code (memory a cell asked for through, say,
 * asyncio is the cell's, and stays shown).
 *
 * @param site - the site.
 */
export function isKernelInternal(site: ISite): boolean {
  if (site.cell_line !== null || site.cell_id !== null) {
    return false;
  }
  if (site.stack.some(frame => frame.cell_line !== null || frame.cell_id !== null)) {
    return false;
  }
  return isKernelInternalFrame(site);
}

/**
 * Split sites into those shown at first and those hidden, keeping their order.
 *
 * @param sites - the sites, largest first.
 * @param base - the denominator of the shares (the cell's `peakBase`); with 0 no site is small.
 * @param filter - what to hide.
 * @returns the shown and the hidden sites.
 */
export function partitionSites<T extends ISite>(
  sites: ReadonlyArray<T>,
  base: number,
  filter: ISiteFilter
): { shown: T[]; hidden: T[] } {
  const shown: T[] = [];
  const hidden: T[] = [];
  const minBytes = base > 0 && filter.minShare > 0 ? base * filter.minShare : 0;
  for (const site of sites) {
    const small = site.bytes < minBytes;
    const internal = filter.hideKernelInternals && isKernelInternal(site);
    (small || internal ? hidden : shown).push(site);
  }
  return { shown, hidden };
}

/**
 * Read a filter from settings, falling back to the defaults for missing or invalid values.
 *
 * @param settings - `hideBelowPercent` (0–100) and `hideKernelInternals` (boolean).
 */
export function readSiteFilter(settings: { [key: string]: unknown }): ISiteFilter {
  const percent = settings.hideBelowPercent;
  const internals = settings.hideKernelInternals;
  return {
    minShare:
      typeof percent === 'number' && Number.isFinite(percent) && percent >= 0 && percent <= 100
        ? percent / 100
        : DEFAULT_SITE_FILTER.minShare,
    hideKernelInternals: typeof internals === 'boolean' ? internals : DEFAULT_SITE_FILTER.hideKernelInternals
  };
}
