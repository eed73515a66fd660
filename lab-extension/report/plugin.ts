/**
 * The `heapscope:report` plugin: "Export Notebook Memory Report" in the command palette, the
 * File menu (schema/report.json) and the Heap panel's toolbar.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { downloadIcon } from '@jupyterlab/ui-components';

import { CommandIDs } from '../commands';
import { IHeapTracker } from '../tracker/tokens';
import { loadReportTemplate } from './assets';
import { exportReport } from './export';
import { templateVersion } from './html';

/**
 * The report export plugin.
 */
export const reportPlugin: JupyterFrontEndPlugin<void> = {
  id: 'heapscope:report',
  description: 'Exports a notebook’s memory report: a self-contained HTML page and the JSON report.',
  autoStart: true,
  requires: [IHeapTracker],
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: IHeapTracker,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('heapscope');
    app.commands.addCommand(CommandIDs.exportReport, {
      label: trans.__('Export Notebook Memory Report'),
      caption: trans.__('Save the heap report of the current notebook as HTML and JSON, next to the notebook'),
      icon: args => (args.isPalette ? undefined : downloadIcon),
      isEnabled: () => {
        const session = tracker.current;
        return !!session && (session.model.cells.length > 0 || session.state === 'connected');
      },
      execute: async () => {
        const session = tracker.current;
        if (!session) {
          return;
        }
        const id = Notification.emit(trans.__('Exporting the memory report…'), 'in-progress', { autoClose: false });
        try {
          const template = await loadReportTemplate();
          // The template is built with the extension from the same package.json: its version is
          // the extension's (JupyterLab's page config does not list extension versions).
          const version =
            templateVersion(template) ?? Private.version() ?? session.model.status?.agent_version ?? 'unknown';
          const result = await exportReport(session, app.serviceManager.contents, template, version, {
            limit: Math.min(1000, 10 * (tracker.configuration?.topN ?? 20)),
            onProgress: (done, total) => {
              if (total > 1) {
                Notification.update({
                  id,
                  message: trans.__('Exporting the memory report: cell details %1 of %2…', done, total),
                  type: 'in-progress',
                  autoClose: false,
                  progress: done / total
                });
              }
            }
          });
          Notification.update({
            id,
            message: trans.__('Memory report saved: %1 and %2', result.html, result.json),
            type: 'success',
            autoClose: 8000,
            actions: [
              {
                label: trans.__('Open'),
                callback: () => {
                  // /files/ serves it with a sandboxing Content-Security-Policy.
                  window.open(
                    URLExt.join(PageConfig.getBaseUrl(), 'files', URLExt.encodeParts(result.html)),
                    '_blank',
                    'noopener'
                  );
                }
              }
            ]
          });
          return result;
        } catch (error) {
          console.error('heapscope: export failed', error);
          Notification.update({
            id,
            message: trans.__('The memory report could not be exported: %1', String(error)),
            type: 'error',
            autoClose: false
          });
        }
      }
    });
    palette?.addItem({ command: CommandIDs.exportReport, category: trans.__('Heap Profiler') });
  }
};

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * The installed heapscope version from the federated extension's page config, where a server
   * lists it (JupyterLab 4's does not), else null.
   */
  export function version(): string | null {
    try {
      const extensions = JSON.parse(PageConfig.getOption('federated_extensions') || '[]') as {
        name: string;
        version?: string;
      }[];
      return extensions.find(e => e.name === 'heapscope')?.version ?? null;
    } catch {
      return null;
    }
  }
}
