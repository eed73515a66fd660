/**
 * The document widget extension that gives every notebook its badges.
 */
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import type { IDisposable } from '@lumino/disposable';

import type { IHeapTracker } from '../tracker/tokens';
import { NotebookBadges } from './notebookBadges';
import type { BadgeSettings } from './thresholds';

/**
 * Creates the badges of each notebook panel; they are disposed with the panel.
 */
export class BadgeExtension implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  /**
   * Construct the extension.
   *
   * @param options - the heap tracker and the badge settings.
   */
  constructor(options: BadgeExtension.IOptions) {
    this._tracker = options.tracker;
    this._settings = options.settings;
    this._onActivate = options.onActivate;
  }

  /**
   * Create the badges of a new notebook panel.
   *
   * @param panel - the notebook panel.
   */
  createNew(panel: NotebookPanel): IDisposable {
    return new NotebookBadges({
      notebook: panel.content,
      model: this._tracker.sessionFor(panel).model,
      settings: this._settings,
      onActivate: this._onActivate
    });
  }

  private _tracker: IHeapTracker;
  private _settings: BadgeSettings;
  private _onActivate: ((cellId: string) => void) | undefined;
}

/**
 * A namespace for BadgeExtension statics.
 */
export namespace BadgeExtension {
  /**
   * The options of the extension.
   */
  export interface IOptions {
    /**
     * The heap tracker.
     */
    tracker: IHeapTracker;
    /**
     * The badge settings.
     */
    settings: BadgeSettings;
    /**
     * Called with a cell's id when its badge is clicked.
     */
    onActivate?: (cellId: string) => void;
  }
}
