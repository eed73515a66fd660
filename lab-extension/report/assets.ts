/**
 * The report page template (built by report/build-assets.js into the Python package), loaded on
 * first export as a separate chunk: JupyterLab's start-up does not pay for its 5 MB.
 */

/**
 * Load the report page template once; later calls share the same promise.
 *
 * @returns the template's text; a failed load is retried on the next call.
 */
export function loadReportTemplate(): Promise<string> {
  if (!Private.template) {
    Private.template = import('../../kernel-launcher/heapscope/report_assets/report.template?raw').then(
      module => ((module as any).default ?? module) as string,
      error => {
        Private.template = null;
        throw error;
      }
    );
  }
  return Private.template;
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * The pending or finished load.
   */
  export let template: Promise<string> | null = null;
}
