/**
 * The Heap panel: the current notebook's heap chart and profiler status, in the right sidebar.
 */
import { nullTranslator, ITranslator, TranslationBundle } from '@jupyterlab/translation';
import type { Toolbar } from '@jupyterlab/ui-components';
import { Message, MessageLoop } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Panel, TabBar, TabPanel, Title, Widget } from '@lumino/widgets';

import { HeapChart } from '../chart/widget';
import type { ICellRun, IFrame } from '../comm/protocol';
import type { HeapModel } from '../model/model';
import { GuardBanner, MEMORY_WARNING_CLASS } from '../guard/banner';
import { HoldersView } from '../holders/view';
import { DEFAULT_SITE_FILTER, ISiteFilter } from '../sites/siteFilter';
import type { SourceLookup } from '../sites/sites';
import type { IHeapSession, IHeapTracker } from '../tracker/tokens';
import { CellDetailView } from './detail';
import { heapIcon } from './icon';
import { RetainedView } from './retained';
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
    this._notes = new Widget({ node: document.createElement('ul') });
    this._notes.addClass('jp-heapscope-Panel-notes');
    this.addWidget(this._notes);
    // The memory guard (issue 12): limit, amber warning, post-mortem, "Return freed memory".
    this._guard = new GuardBanner({
      showRun: seq => this.showRun(seq),
      setLevel: level => {
        this.toggleClass(MEMORY_WARNING_CLASS, level === 'warn');
        this.toggleClass('jp-mod-memoryStopped', level === 'stopped');
      }
    });
    this.addWidget(this._guard);
    this._switch = new Widget({ node: document.createElement('button') });
    this._switch.addClass('jp-heapscope-Panel-switch');
    this._switch.addClass('jp-mod-styled');
    this._switch.addClass('jp-mod-accept');
    this._switch.node.textContent = this._trans.__('Switch to Python 3 (heapscope)');
    this._switch.node.addEventListener('click', () => {
      if (this._session && options.switchKernel) {
        void options.switchKernel(this._session);
      }
    });
    this.addWidget(this._switch);

    // Lumino's tab panel: a tab bar (role tablist, roving tabindex, arrow keys, Enter/Space)
    // over a stacked panel of the three views.
    this._views = new TabPanel({ renderer: new Private.TabRenderer() });
    this._views.addClass('jp-heapscope-Panel-views');
    this._views.tabBar.addClass('jp-heapscope-Panel-tabs');
    this._views.tabBar.name = this._trans.__('Heap views');
    this._views.currentChanged.connect(this._onTabChanged, this);
    // Automatic activation (WAI-ARIA tabs): the tab the arrow keys focus is also shown.
    this._views.tabBar.contentNode.addEventListener('focusin', event => this._onTabFocus(event));
    this._chart = new HeapChart();
    this._chart.cellClicked.connect((_, cell) => this._onCellClicked(cell), this);
    const viewOptions = {
      navigate: options.navigate ?? (() => undefined),
      lookup: options.lookup ?? (() => () => undefined),
      isMine: options.isMine,
      canNavigate: options.canNavigate ?? (() => () => true),
      filter: options.filter ?? (() => DEFAULT_SITE_FILTER),
      limit: options.limit ?? (() => 200),
      trans: this._trans
    };
    this._detail = new CellDetailView(viewOptions);
    this._retained = new RetainedView(viewOptions);
    this._holders = new HoldersView({ ...viewOptions, confirm: options.confirm });
    // Short labels fit the default 250 px sidebar; the captions (tooltips) say more.
    for (const [view, widget, label, caption] of [
      ['timeline', this._chart, this._trans.__('Timeline'), this._trans.__('The heap after every cell run')],
      ['cell', this._detail, this._trans.__('Cell'), this._trans.__('Where a cell run’s memory was allocated')],
      [
        'retained',
        this._retained,
        this._trans.__('Retained'),
        this._trans.__('The heap alive now, by the cell that allocated it')
      ],
      [
        'holders',
        this._holders,
        this._trans.__('Holders'),
        this._trans.__('Which names keep memory alive, and what deleting each would free')
      ]
    ] as const) {
      widget.id = `${PANEL_ID}-${view}`;
      widget.title.label = label;
      widget.title.caption = caption;
      // The class and data-view are the DOM contract the UI tests select tabs by.
      widget.title.className = 'jp-heapscope-Panel-tab';
      widget.title.dataset = { view };
      widget.node.tabIndex = -1;
      this._views.addWidget(widget);
    }
    this.addWidget(this._views);
    this.showView('timeline');
    // The views take the height the status line leaves (CSS flex); the tab panel lays out its
    // children in pixels, so it must hear of every change, not only of the sidebar's resizes.
    if (typeof ResizeObserver !== 'undefined') {
      this._resizeObserver = new ResizeObserver(() => {
        if (this._views.isVisible) {
          MessageLoop.sendMessage(this._views, Widget.ResizeMessage.UnknownSize);
        }
      });
      this._resizeObserver.observe(this._views.node);
    }

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
   * The view shown.
   */
  get view(): HeapPanel.View {
    return this._view;
  }

  /**
   * Show one of the views: the chart, the cell detail or the retained-by-cell split.
   *
   * @param view - the view.
   */
  showView(view: HeapPanel.View): void {
    const widgets = { timeline: this._chart, cell: this._detail, retained: this._retained, holders: this._holders };
    this._views.currentWidget = widgets[view];
    this._view = view;
  }

  /**
   * Show the detail of a run of the current notebook.
   *
   * @param seq - the run's `seq`.
   */
  showRun(seq: number): void {
    this._detail.showRun(this._session, seq);
    this.showView('cell');
  }

  /**
   * Show the detail of a cell's last finished run in the current notebook.
   *
   * @param cellId - the cell's model id.
   * @returns whether the cell has a finished run with a `seq`.
   */
  showCell(cellId: string): boolean {
    const seq = this._session?.model.lastRun(cellId)?.seq;
    if (seq === undefined) {
      return false;
    }
    this.showRun(seq);
    return true;
  }

  /**
   * The memory block (limit, warning, post-mortem, what "Return freed memory" gave back).
   */
  get guardBanner(): GuardBanner {
    return this._guard;
  }

  /**
   * The Holders view (who holds the heap).
   */
  get holders(): HoldersView {
    return this._holders;
  }

  /**
   * Draw the cell detail, retained and holders views again (e.g. after the site filter changed).
   */
  refreshViews(): void {
    this._detail.refresh();
    this._retained.refresh();
    this._holders.refresh();
  }

  /**
   * Read the theme colours again (call it when the theme changes).
   */
  refreshTheme(): void {
    this._chart.refreshTheme();
    this._detail.refreshTheme();
  }

  /**
   * The session shown, or null.
   */
  get session(): IHeapSession | null {
    return this._session;
  }

  /**
   * Emitted when the model of the session shown changes (status, cells, …), with the model's change.
   */
  get modelChanged(): ISignal<this, HeapModel.IChangedArgs> {
    return this._modelChanged;
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
    this._resizeObserver?.disconnect();
    Signal.clearData(this);
    super.dispose();
  }

  /**
   * Take the focus when activated, for keyboard users.
   */
  protected onActivateRequest(_msg: Message): void {
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
      old.model.changed.disconnect(this._onModelChanged, this);
      old.disposed.disconnect(this._onSessionDisposed, this);
      old.notebookPanel.title.changed.disconnect(this._refresh, this);
    }
    this._session = session;
    if (session) {
      session.stateChanged.connect(this._onStateChanged, this);
      session.model.changed.connect(this._onModelChanged, this);
      session.disposed.connect(this._onSessionDisposed, this);
      session.notebookPanel.title.changed.connect(this._refresh, this);
    }
    this._chart.model = session?.model ?? null;
    this._detail.session = session;
    this._retained.session = session;
    this._holders.session = session;
    this._guard.session = session;
    this._onStateChanged();
  }

  private _onModelChanged(_: HeapModel, args: HeapModel.IChangedArgs): void {
    this._refresh();
    this._modelChanged.emit(args);
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
    if (!this.isVisible) {
      // Hidden (another sidebar tab, or collapsed): nothing to draw; done once when shown again. During
      // a Run All this ran after every cell for nobody.
      this._stale = true;
      return;
    }
    this._stale = false;
    const session = this._session;
    const status = panelStatus(session, this._trans);
    this._notebookNode.textContent = session ? session.notebookPanel.title.label : '';
    this._status.node.textContent = status.text;
    this._status.toggleClass('jp-mod-warning', status.level === 'warning');
    // Kernel strings: text nodes only.
    this._notes.node.replaceChildren(
      ...status.notes.map(note => {
        const item = document.createElement('li');
        item.textContent = note;
        return item;
      })
    );
    this._notes.setHidden(status.notes.length === 0);
    this._switch.setHidden(!(session && session.state === 'not-heapscope'));
    this._views.setHidden(!status.showChart);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._stale) {
      this._refresh();
    }
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this._stale) {
      this._refresh();
    }
  }

  private _onCellClicked(cell: ICellRun): void {
    if (cell.seq !== undefined) {
      this.showRun(cell.seq);
    }
  }

  private _onTabChanged(_: TabPanel, args: TabPanel.ICurrentChangedArgs): void {
    const view = args.currentWidget?.title.dataset.view as HeapPanel.View | undefined;
    if (!view) {
      return;
    }
    this._view = view;
    if (view === 'retained') {
      this._retained.session = this._session;
    }
  }

  /**
   * Show the tab that takes the focus (the tab bar moves it with the arrow, Home and End keys).
   */
  private _onTabFocus(event: FocusEvent): void {
    const tabs = Array.from(this._views.tabBar.contentNode.children);
    const index = tabs.findIndex(tab => tab === event.target);
    if (index >= 0 && index !== this._views.currentIndex) {
      this._views.currentIndex = index;
    }
  }

  private _trans: TranslationBundle;
  private _tracker: IHeapTracker;
  private _session: IHeapSession | null = null;
  private _stale = true; // a change came while hidden
  private _notebookNode: HTMLElement;
  private _status: Widget;
  private _notes: Widget;
  private _guard: GuardBanner;
  private _switch: Widget;
  private _views: TabPanel;
  private _resizeObserver: ResizeObserver | null = null;
  private _view: HeapPanel.View = 'timeline';
  private _detail: CellDetailView;
  private _retained: RetainedView;
  private _holders: HoldersView;
  private _chart: HeapChart;
  private _stateChanged = new Signal<this, void>(this);
  private _modelChanged = new Signal<this, HeapModel.IChangedArgs>(this);
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
    /**
     * Goes to a frame's code (the detail and retained views' rows).
     */
    navigate?: (session: IHeapSession, frame: IFrame) => void;
    /**
     * Whether a frame of a session's notebook can be navigated to (default: all); the others
     * are shown as text.
     */
    canNavigate?: (session: IHeapSession) => (frame: IFrame) => boolean;
    /**
     * Whether a frame of a session's notebook is the user's code ("my code only"; default: cell
     * code only).
     */
    isMine?: (session: IHeapSession) => (frame: IFrame) => boolean;
    /**
     * Which sites the detail views hide at first (default: {@link DEFAULT_SITE_FILTER}).
     */
    filter?: () => ISiteFilter;
    /**
     * The source lookup of a session's notebook.
     */
    lookup?: (session: IHeapSession) => SourceLookup;
    /**
     * Sites per list asked from the kernel for the detail views.
     */
    limit?: () => number;
    /**
     * Switches a notebook to the heapscope kernel (the button shown for other kernels).
     */
    switchKernel?: (session: IHeapSession) => Promise<void>;
    /**
     * Asks the user to confirm a release in the Holders view (default: JupyterLab's dialog).
     */
    confirm?: HoldersView.IOptions['confirm'];
  }

  /**
   * The panel's views.
   */
  export type View = 'timeline' | 'cell' | 'retained' | 'holders';
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

  /**
   * Lumino's tab renderer, plus `aria-controls` (the WAI-ARIA tab names the panel it shows).
   */
  export class TabRenderer extends TabBar.Renderer {
    createTabARIA(data: TabBar.IRenderData<Widget>): ReturnType<TabBar.Renderer['createTabARIA']> {
      const owner = (data.title as Title<Widget>).owner;
      return { ...super.createTabARIA(data), 'aria-controls': owner.id };
    }
  }
}
