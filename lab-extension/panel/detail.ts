/**
 * The cell detail view of the Heap panel: where a cell's memory was allocated, at its peak and
 * when it ended, with stacks and an icicle chart.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { buildIcicleFigure } from '../chart/icicle';
import type { ICellRun, IFrame, ISite } from '../comm/protocol';
import { formatBytes, formatSignedBytes } from '../format/bytes';
import { displayText, firstSourceLine } from '../format/text';
import { createGuardDetail } from '../guard/detail';
import type { HeapModel } from '../model/model';
import { createSiteList, createSiteQueryBar, SiteQuery } from '../sites/dom';
import { isMyCodeFrame } from '../sites/listing';
import type { ISiteFilter } from '../sites/siteFilter';
import { peakBase, SourceLookup } from '../sites/sites';
import type { IHeapSession } from '../tracker/tokens';
import { PlotView } from './plotView';
import { SessionView } from './sessionView';

/**
 * Shows one run of a cell.
 */
export class CellDetailView extends SessionView {
  /**
   * Construct the view.
   *
   * @param options - navigation, source lookup and translations.
   */
  constructor(options: CellDetailView.IOptions) {
    super();
    this._options = options;
    this.addClass('jp-heapscope-Detail');
    // The filter bar stays while the lists under it are drawn again (typing keeps its focus).
    this._queryBar = new Widget({
      node: createSiteQueryBar(this._query, { myCodeTitle: Private.MY_CODE_TITLE })
    });
    this._queryBar.addClass('jp-heapscope-Detail-query');
    this._content = new Widget();
    this._content.addClass('jp-heapscope-Detail-content');
    this.addWidget(this._queryBar);
    this._icicle = new PlotView();
    this._icicle.addClass('jp-heapscope-Icicle');
    this.addWidget(this._content);
    this.addWidget(this._icicle);
    this._render();
  }

  /**
   * The run shown (`seq`), or null.
   */
  get seq(): number | null {
    return this._seq;
  }

  /**
   * Show a run of a session's notebook and ask the kernel for its longer lists.
   *
   * @param session - the notebook's heap session.
   * @param seq - the run's `seq`.
   */
  showRun(session: IHeapSession | null, seq: number | null): void {
    this.session = session;
    this._seq = seq;
    if (session && seq !== null && !session.model.hasDetail(seq)) {
      session.requestDetail(seq, this._options.limit());
    }
    this._render();
  }

  /**
   * Forget the run shown when the session changes.
   */
  protected onSessionChanged(): void {
    this._seq = null;
    this._render();
  }

  /**
   * Draw the view again (e.g. after the site filter changed).
   */
  refresh(): void {
    this._render();
  }

  /**
   * Read the theme again (the icicle).
   */
  refreshTheme(): void {
    this._icicle.refreshTheme();
  }

  protected onModelChanged(_: HeapModel, args: HeapModel.IChangedArgs): void {
    if (args.kind === 'ticks' || args.kind === 'status' || args.kind === 'retained' || args.kind === 'cell-start') {
      return;
    }
    if (args.kind === 'detail' && args.seq !== this._seq) {
      return;
    }
    if (args.kind === 'clear') {
      this._seq = null;
    }
    this._render();
  }

  private _render(): void {
    const trans = this._options.trans;
    const node = this._content.node;
    node.textContent = '';
    this._query.disconnectAll();
    const session = this.session;
    const run: ICellRun | null | undefined =
      session && this._seq !== null ? session.model.detail(this._seq) : undefined;
    this._queryBar.setHidden(!session || !run || (run.top_at_peak === undefined && run.retained === undefined));
    if (!session || !run) {
      node.appendChild(
        Private.el(
          'p',
          'jp-heapscope-Empty',
          trans.__('Click a cell’s point in the chart, or a cell’s badge, to see where its memory was allocated.')
        )
      );
      this._icicle.figure = null;
      this._icicle.hide();
      return;
    }
    const lookup = this._options.lookup(session);
    const navigate = (frame: IFrame) => this._options.navigate(session, frame);
    const canNavigate = this._options.canNavigate(session);
    const filter = this._options.filter();
    const isMine = this._options.isMine?.(session) ?? ((frame: IFrame) => isMyCodeFrame(frame));
    const query = this._query;
    const title = `[${run.execution_count ?? '?'}] ${displayText(firstSourceLine(run.source), 120)}`;
    node.appendChild(Private.el('h3', 'jp-heapscope-Detail-title', title));
    const facts = [
      trans.__('net %1', formatSignedBytes(run.end_bytes - run.start_bytes)),
      trans.__('peak %1', formatSignedBytes(run.peak_bytes - run.start_bytes)),
      trans.__(
        'heap %1 → %2 → %3',
        formatBytes(run.start_bytes),
        formatBytes(run.peak_bytes),
        formatBytes(run.end_bytes)
      )
    ];
    if (run.allocated_bytes !== undefined) {
      facts.push(trans.__('allocated %1', formatBytes(run.allocated_bytes)));
    }
    if (run.status !== 'ok' && run.status !== 'guard' && run.status !== 'killed') {
      facts.push(run.status === 'error' ? trans.__('raised an error') : trans.__(run.status));
    }
    // One span per fact, kept whole: a figure never breaks between its number and its unit.
    const factsNode = Private.el('p', 'jp-heapscope-Detail-facts', '');
    facts.forEach((fact, i) => {
      if (i > 0) {
        factsNode.append(' · ');
      }
      factsNode.appendChild(Private.el('span', 'jp-heapscope-Detail-fact', fact));
    });
    node.appendChild(factsNode);
    // The memory guard: heap Δ beside RSS Δ, a guard stop, a post-mortem (its lines are the list below).
    const guard = createGuardDetail(run);
    if (guard) {
      node.appendChild(guard);
    }
    if (run.top_at_peak === undefined && run.retained === undefined) {
      const reason = session.model.status?.attribution_reason;
      node.appendChild(
        Private.el(
          'p',
          'jp-heapscope-Empty',
          reason
            ? trans.__('No line-level attribution: %1', displayText(reason, 512))
            : trans.__('No line-level attribution for this cell.')
        )
      );
      this._icicle.figure = null;
      this._icicle.hide();
      return;
    }
    const base = peakBase(run);
    const siteList = (sites: ReadonlyArray<ISite> | undefined, label: string, emptyText: string) =>
      createSiteList(sites ?? [], {
        base,
        lookup,
        onNavigate: navigate,
        canNavigate,
        filter,
        emptyText,
        query,
        isMine,
        label: `${title} · ${label}`
      });
    const peakTitle =
      run.status === 'killed' ? trans.__('Top lines at the last sample') : trans.__('Top lines at the peak');
    node.appendChild(Private.el('h4', 'jp-heapscope-Detail-heading', peakTitle));
    node.appendChild(siteList(run.top_at_peak, peakTitle, trans.__('Nothing held at the peak.')));
    const retainedTitle = trans.__('Retained when the cell ended');
    node.appendChild(Private.el('h4', 'jp-heapscope-Detail-heading', retainedTitle));
    node.appendChild(siteList(run.retained, retainedTitle, trans.__('Nothing retained.')));
    const sites = run.top_at_peak ?? [];
    if (sites.length > 0) {
      // The icicle of a big cell (an import: hundreds of sites, deep stacks) is thousands of SVG
      // nodes and most of the drill-down's drawing time: it is drawn when asked for, and stays
      // open for the next runs once opened.
      const heading = Private.el('h4', 'jp-heapscope-Detail-heading', '');
      const toggle = Private.el('button', 'jp-heapscope-Detail-icicleToggle', '');
      toggle.type = 'button';
      const label = trans.__('The peak by stack');
      const sync = () => {
        toggle.textContent = `${this._icicleOpen ? '▾' : '▸'} ${label}`;
        toggle.setAttribute('aria-expanded', String(this._icicleOpen));
        if (this._icicleOpen) {
          this._icicle.show();
          this._icicle.figure = theme => buildIcicleFigure(sites, `[${run.execution_count ?? '?'}]`, theme);
        } else {
          this._icicle.figure = null;
          this._icicle.hide();
        }
      };
      toggle.addEventListener('click', () => {
        this._icicleOpen = !this._icicleOpen;
        sync();
      });
      heading.appendChild(toggle);
      node.appendChild(heading);
      sync();
    } else {
      this._icicle.figure = null;
      this._icicle.hide();
    }
  }

  private _options: CellDetailView.IOptions;
  private _query = new SiteQuery();
  private _queryBar: Widget;
  private _content: Widget;
  private _icicle: PlotView;
  private _icicleOpen = false;
  private _seq: number | null = null;
}

/**
 * A namespace for CellDetailView statics.
 */
export namespace CellDetailView {
  /**
   * The options of the view.
   */
  export interface IOptions {
    /**
     * Goes to a frame's code.
     */
    navigate: (session: IHeapSession, frame: IFrame) => void;
    /**
     * Whether a frame of a session's notebook can be navigated to; the others are text.
     */
    canNavigate: (session: IHeapSession) => (frame: IFrame) => boolean;
    /**
     * Which sites are hidden at first behind a "show N hidden" toggle.
     */
    filter: () => ISiteFilter;
    /**
     * The source lookup of a session's notebook.
     */
    lookup: (session: IHeapSession) => SourceLookup;
    /**
     * Whether a frame of a session's notebook is the user's code (cell code, files under the
     * server's root): "my code only". Without it, cell code only.
     */
    isMine?: (session: IHeapSession) => (frame: IFrame) => boolean;
    /**
     * Sites per list asked from the kernel.
     */
    limit: () => number;
    /**
     * The translation bundle.
     */
    trans: TranslationBundle;
  }
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * What "my code only" means, in the check box's tooltip.
   */
  export const MY_CODE_TITLE =
    'Count each site at the innermost line of your code on its stack: notebook cells and files under the server’s root (not installed packages)';

  /**
   * Create an element with a class and text.
   */
  export function el<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    className: string,
    text: string
  ): HTMLElementTagNameMap[K] {
    const node = document.createElement(tag);
    node.className = className;
    node.textContent = text;
    return node;
  }
}
