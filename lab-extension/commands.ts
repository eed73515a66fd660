/**
 * The ids of heapscope's commands.
 */
export namespace CommandIDs {
  /**
   * Show and focus the Heap panel.
   */
  export const openPanel = 'heapscope:open-panel';

  /**
   * Ask the current notebook's kernel to forget its finished cells.
   */
  export const clearHistory = 'heapscope:clear-history';

  /**
   * Show a cell's detail in the Heap panel (args: `cellId`, or `seq`).
   */
  export const showCell = 'heapscope:show-cell';

  /**
   * Show the retained-by-cell view of the Heap panel.
   */
  export const showRetained = 'heapscope:show-retained';

  /**
   * Switch between the default and exact profiling modes (the setting `heapscope:tracker.mode`).
   */
  export const toggleMode = 'heapscope:toggle-mode';

  /**
   * Switch the current notebook to the heapscope kernel.
   */
  export const switchKernel = 'heapscope:switch-kernel';

  /**
   * Export the current notebook's memory report (HTML and JSON, next to the notebook).
   */
  export const exportReport = 'heapscope:export-report';

  /**
   * Ask the current notebook's kernel to return freed memory to the system (`release_memory`).
   */
  export const releaseMemory = 'heapscope:release-memory';
}
