/**
 * A load that runs once and is shared by every caller (e.g. a chunk loaded on first use).
 */

/**
 * Wrap a loader so it runs once; later calls share its promise. A failed load is forgotten, so
 * the next call tries again.
 *
 * @param load - starts the load (e.g. a dynamic `import()`).
 * @returns a function that returns the pending or finished load.
 */
export function lazyLoad<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => {
    if (!pending) {
      pending = load().catch(error => {
        pending = null;
        throw error;
      });
    }
    return pending;
  };
}

/**
 * The default export of a module loaded with `import()`, or the module itself.
 *
 * @param module - the loaded module.
 */
export function defaultExport<T>(module: unknown): T {
  return ((module as { default?: T }).default ?? module) as T;
}
