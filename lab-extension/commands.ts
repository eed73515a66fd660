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
}
