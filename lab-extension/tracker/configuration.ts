/**
 * The profiler settings (schema/tracker.json) as a {@link IHeapConfiguration}. Pure.
 */
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import type { IHeapConfiguration } from './tokens';

/**
 * The defaults, the same as in schema/tracker.json.
 */
export const DEFAULT_CONFIGURATION: IHeapConfiguration = { mode: 'default', topN: 20 };

/**
 * The name of heapscope's kernelspec.
 */
export const HEAPSCOPE_KERNEL = 'heapscope';

/**
 * Read the profiler settings.
 *
 * @param composite - the plugin's composite settings.
 * @returns the configuration; the default for a missing or invalid value.
 */
export function readConfiguration(composite: ReadonlyPartialJSONObject): IHeapConfiguration {
  const mode = composite.mode === 'exact' || composite.mode === 'default' ? composite.mode : DEFAULT_CONFIGURATION.mode;
  const topN = composite.topN;
  return {
    mode,
    topN:
      typeof topN === 'number' && Number.isInteger(topN) && topN >= 1 && topN <= 1000
        ? topN
        : DEFAULT_CONFIGURATION.topN
  };
}
