/**
 * The profiler settings (schema/tracker.json) as a {@link IHeapConfiguration}. Pure.
 */
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import type { BrowserRequest } from '../comm/protocol';
import type { IHeapConfiguration } from './tokens';

/**
 * The defaults, the same as in schema/tracker.json.
 */
export const DEFAULT_CONFIGURATION: IHeapConfiguration = {
  mode: 'default',
  topN: 20,
  guard: 'kernel',
  guardHard: null,
  guardSoft: null
};

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
  const guard = composite.guard === 'on' || composite.guard === 'off' ? composite.guard : DEFAULT_CONFIGURATION.guard;
  return {
    mode,
    topN:
      typeof topN === 'number' && Number.isInteger(topN) && topN >= 1 && topN <= 1000
        ? topN
        : DEFAULT_CONFIGURATION.topN,
    guard,
    guardHard: Private.fraction(composite.guardHard),
    guardSoft: Private.fraction(composite.guardSoft)
  };
}

/**
 * Whether two configurations ask the same of a kernel (every field).
 */
export function sameConfiguration(a: IHeapConfiguration, b: IHeapConfiguration): boolean {
  return (Object.keys(DEFAULT_CONFIGURATION) as (keyof IHeapConfiguration)[]).every(key => a[key] === b[key]);
}

/**
 * The `configure` message for a configuration: the guard's fields only where the settings override the
 * kernel's own (its environment decides otherwise).
 */
export function configureMessage(configuration: IHeapConfiguration): BrowserRequest {
  return {
    type: 'configure',
    mode: configuration.mode,
    top_n: configuration.topN,
    ...(configuration.guard !== 'kernel' ? { guard: configuration.guard === 'on' } : {}),
    ...(configuration.guardHard !== null ? { guard_hard: configuration.guardHard } : {}),
    ...(configuration.guardSoft !== null ? { guard_soft: configuration.guardSoft } : {})
  };
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * A fraction in (0, 1], or null (the kernel's own).
   */
  export function fraction(value: unknown): number | null {
    return typeof value === 'number' && value > 0 && value <= 1 ? value : null;
  }
}
