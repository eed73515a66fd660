/**
 * The report page template (built by report/build-assets.js into the Python package), loaded on
 * first export as a separate chunk: JupyterLab's start-up does not pay for its 5 MB.
 */
import { defaultExport, lazyLoad } from '../util/lazy';

/**
 * Load the report page template once; later calls share the same promise.
 *
 * @returns the template's text; a failed load is retried on the next call.
 */
export const loadReportTemplate: () => Promise<string> = lazyLoad(() =>
  import('../../kernel-launcher/heapscope/report_assets/report.template?raw').then(module =>
    defaultExport<string>(module)
  )
);
