/**
 * The Heap panel: the current notebook's heap chart and profiler status, in the right sidebar.
 */
import { nullTranslator, ITranslator, TranslationBundle } from '@jupyterlab/translation';
import type { Toolbar } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Panel, Widget } from '@lumino/widgets';

import { HeapChart } from '../chart/widget';
import type { IHeapSession, IHeapTracker } from '../tracker/tokens';
import { heapIcon } from './icon';
import { panelStatus } from './status';

/**
 * The id of the panel (part of the DOM contract in docs/architecture.md).
 */
export const PANEL_ID = 'heapscope-panel';

/**
 * The Heap panel; it follows the current notebook.
 */
export class HeapPanel extends Panel {
  /**
   * Construct the panel.
   *
   * @param options - the tracker to follow, an optional toolbar and a translator.
   */
  constructor(options: HeapPanel.IOptions) {
    super();
    this._trans = (options.translator ?? nullTranslator).load('heapscope');
    this.id = PANEL_ID;
    this.addClass('jp-heapscope-Panel');
    this.title.icon = heapIcon;
    this.title.caption = this._trans.__('Heap');
    this.node.tabIndex = 0;
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', this._trans.__('Heap'));

    const header = new Widget({ node: Private.createHeader(this._trans.__('Heap')) });
    header.addClass('jp-heapscope-Panel-header');
    this._notebookNode = header.node.querySelector('.jp-heapscope-Panel-notebook')!;
    this.addWidget(header);
    if (options.toolbar) {
      options.toolbar.addClass('jp-heapscope-Panel-toolbar');
      this.addWidget(options.toolbar);
    }
    this._status = new Widget();
    this._status.addClass('jp-heapscope-Panel-status');
    this._status.node.setAttribute('role', 'status');
    this._status.node.setAttribute('aria-live', 'polite');
    this.addWidget(this._status);
    this._chart = new HeapChart();
    this.addWidget(this._chart);

    this._tracker = options.tracker;
    this._tracker.currentChanged.connect(this._onCurrentChanged, this);
    this._setSession(this._tracker.current);
    this._refresh();
  }

  /**
   * The chart widget.
   */
  get chart(): HeapChart {
    return this._chart;
  }

  /**
   * The session shown, or null.
   */
  get session(): IHeapSession | null {
    return this._session;
  }

  /**
   * Emitted when the session shown or its connection state changes.
   */
  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
  }

  /**
   * Dispose of the panel (idempotent).
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._setSession(null);
    Signal.clearData(this);
    super.dispose();
  }

  /**
   * Take the focus when activated, for keyboard users.
   */
  protected onActivateRequest(msg: Message): void {
    if (this.isAttached && !this.node.contains(document.activeElement)) {
      this.node.focus();
    }
  }

  private _onCurrentChanged(_: IHeapTracker, session: IHeapSession | null): void {
    this._setSession(session);
  }

  private _setSession(session: IHeapSession | null): void {
    const old = this._session;
    if (old === session) {
      return;
    }
    if (old) {
      old.stateChanged.disconnect(this._onStateChanged, this);
      old.model.changed.disconnect(this._refresh, this);
      old.disposed.disconnect(this._onSessionDisposed, this);
      old.notebookPanel.title.changed.disconnect(this._refresh, this);
    }
    this._session = session;
    if (session) {
      session.stateChanged.connect(this._onStateChanged, this);
      session.model.changed.connect(this._refresh, this);
      session.disposed.connect(this._onSessionDisposed, this);
      session.notebookPanel.title.changed.connect(this._refresh, this);
    }
    this._chart.model = session?.model ?? null;
    this._onStateChanged();
  }

  private _onSessionDisposed(): void {
    this._setSession(null);
  }

  private _onStateChanged(): void {
    this._refresh();
    this._stateChanged.emit();
  }

  /**
   * Show the status text and the chart or not.
   */
  private _refresh(): void {
    const session = this._session;
    const status = panelStatus(session, this._trans);
    this._notebookNode.textContent = session ? session.notebookPanel.title.label : '';
    this._status.node.textContent = status.text;
    this._status.toggleClass('jp-mod-warning', status.level === 'warning');
    this._chart.setHidden(!status.showChart);
  }

  private _trans: TranslationBundle;
  private _tracker: IHeapTracker;
  private _session: IHeapSession | null = null;
  private _notebookNode: HTMLElement;
  private _status: Widget;
  private _chart: HeapChart;
  private _stateChanged = new Signal<this, void>(this);
}

/**
 * A namespace for HeapPanel statics.
 */
export namespace HeapPanel {
  /**
   * The options of the panel.
   */
  export interface IOptions {
    /**
     * The heap tracker to follow.
     */
    tracker: IHeapTracker;
    /**
     * A toolbar shown under the title.
     */
    toolbar?: Toolbar;
    /**
     * The application's translator.
     */
    translator?: ITranslator;
  }
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * The panel header: its title and the notebook's name.
   */
  export function createHeader(title: string): HTMLElement {
    const node = document.createElement('header');
    const heading = document.createElement('h2');
    heading.className = 'jp-heapscope-Panel-title';
    heading.textContent = title;
    const notebook = document.createElement('span');
    notebook.className = 'jp-heapscope-Panel-notebook';
    node.append(heading, notebook);
    return node;
  }
}
