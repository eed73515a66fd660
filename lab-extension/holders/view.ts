/**
 * The Holders view of the Heap panel: which names keep memory alive and what deleting each would
 * free. Asks the kernel (`holders`) on demand, shows its progress without blocking anything, then
 * the shared memory in sentences and the sortable holders table; releases an output or the last
 * traceback after asking (`release_holder`), then scans again and asks for a fresh status (the
 * kernel sends none after a release), so the panel shows the memory going.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import type { IFrame, IHolder } from '../comm/protocol';
import { displayText } from '../format/text';
import type { HeapModel } from '../model/model';
import { SessionView } from '../panel/sessionView';
import { button, element } from '../sites/elements';
import { isMyCodeFrame } from '../sites/listing';
import type { ISiteFilter } from '../sites/siteFilter';
import type { SourceLookup } from '../sites/sites';
import type { IHeapSession } from '../tracker/tokens';
import {
  DEFAULT_HOLDER_SORT,
  holdersSummary,
  IHolderSort,
  progressFraction,
  progressText,
  releasedText,
  releaseQuestion
} from './holders';
import type { HoldersState } from './state';
import { createHoldersTable, createSharedList } from './table';

/**
 * Shows who holds the heap of a session's kernel.
 */
export class HoldersView extends SessionView {
  /**
   * Construct the view.
   *
   * @param options - navigation, source lookup, confirmation and translations.
   */
  constructor(options: HoldersView.IOptions) {
    super();
    this._options = options;
    this.addClass('jp-heapscope-HoldersView');
    const trans = options.trans;
    const bar = element('div', 'jp-heapscope-HoldersView-bar');
    this._scanButton = button('jp-heapscope-HoldersView-scan jp-mod-styled', trans.__('Find who holds memory'));
    this._scanButton.title = trans.__(
      'Ask the kernel which names, outputs and tracebacks keep memory alive, and what deleting each would free'
    );
    this._scanButton.addEventListener('click', () => this.scan());
    this._progress = element('progress', 'jp-heapscope-HoldersView-progress');
    this._progress.max = 1;
    this._progress.hidden = true;
    bar.append(this._scanButton, this._progress);
    this._statusLine = element('p', 'jp-heapscope-HoldersView-status');
    this._statusLine.setAttribute('role', 'status');
    this._statusLine.setAttribute('aria-live', 'polite');
    this._releaseLine = element('p', 'jp-heapscope-HoldersView-released');
    this._releaseLine.setAttribute('role', 'status');
    this._releaseLine.setAttribute('aria-live', 'polite');
    this._releaseLine.hidden = true;
    const head = new Widget({ node: element('div', 'jp-heapscope-HoldersView-head') });
    head.node.append(bar, this._statusLine, this._releaseLine);
    this._content = new Widget();
    this._content.addClass('jp-heapscope-HoldersView-content');
    this.addWidget(head);
    this.addWidget(this._content);
    this._render();
  }

  /**
   * Ask the kernel who holds the heap (again); the answer shows when it comes. Nothing blocks
   * meanwhile: the notebook and the other views keep working.
   *
   * @returns whether the request was sent.
   */
  scan(): boolean {
    const session = this.session;
    const state = this._state;
    if (!session || !state) {
      this._renderStatus();
      return false;
    }
    if (state.phase === 'scanning' && Date.now() - this._scanAt < HoldersView.RESCAN_MS) {
      // One scan at a time: the kernel answers the one running. An answer lost with its comm (the
      // kernel reopened it) would leave the view waiting: after a while a press asks again.
      return true;
    }
    this._scanAt = Date.now();
    state.begin();
    const sent = session.state === 'connected' && !!session.send?.({ type: 'holders' });
    if (!sent) {
      state.fail(this._notConnected(session));
    }
    return sent;
  }

  /**
   * Release an output or the last traceback, after asking the user.
   *
   * @param holder - a holder of kind `output` or `traceback`.
   * @returns whether the release was sent.
   */
  async release(holder: IHolder): Promise<boolean> {
    const session = this.session;
    if (!session || !this._state) {
      return false;
    }
    const question = releaseQuestion(holder);
    const confirm = this._options.confirm ?? Private.confirm;
    if (!(await confirm(question.title, question.body, this._options.trans.__('Release')))) {
      return false;
    }
    if (this.session !== session || !this._state) {
      return false;
    }
    this._before = session.model.status?.current_bytes ?? null;
    this._after = null;
    this._state.beginRelease(holder.name);
    if (!session.send?.({ type: 'release_holder', name: holder.name })) {
      this._releaseText = this._notConnected(session);
      this._renderRelease();
      return false;
    }
    return true;
  }

  /**
   * Draw the view again (e.g. after the site filter changed).
   */
  refresh(): void {
    this._render();
  }

  protected onSessionChanged(): void {
    const state = this.session?.model.holders ?? null;
    if (state !== this._state) {
      this._state?.changed.disconnect(this._onStateChanged, this);
      this._state = state;
      this._state?.changed.connect(this._onStateChanged, this);
    }
    this._releaseText = '';
    this._awaitingStatus = false;
    this._statusAfterScan = false;
    this._render();
  }

  protected onAfterShow(_msg: Message): void {
    this._render();
  }

  protected onModelChanged(model: HeapModel, args: HeapModel.IChangedArgs): void {
    if (args.kind === 'status' && this._awaitingStatus) {
      // The fresh status asked for after a release: say how the heap went.
      this._awaitingStatus = false;
      this._after = model.status?.current_bytes ?? null;
      const release = this._state?.release;
      if (release) {
        this._releaseText = releasedText(release.name, release.released === true, this._before, this._after);
        this._renderRelease();
      }
      return;
    }
    if (args.kind === 'cell' || args.kind === 'history' || args.kind === 'clear') {
      this._renderStatus();
    }
  }

  private _onStateChanged(state: HoldersState, kind: HoldersState.ChangeKind): void {
    if (kind === 'progress') {
      this._renderStatus();
      return;
    }
    if (kind === 'released') {
      const release = state.release!;
      this._releaseText = releasedText(release.name, release.released === true);
      if (release.released) {
        // The kernel sends nothing after a release. Scan again first: the scan starts with a
        // garbage collection, which frees what only reference cycles kept (a traceback's frames);
        // once it answers, an empty `configure` is answered with a status broadcast
        // (current_bytes now), which this view, the panel's status line and the chart show.
        this._statusAfterScan = true;
        if (!this.scan()) {
          this._askStatus();
        }
      }
      this._renderRelease();
      return;
    }
    if (kind === 'result' && this._statusAfterScan) {
      this._askStatus();
    }
    if (kind === 'release') {
      this._releaseText = this._options.trans.__('Releasing %1…', displayText(state.release!.name, 200));
      this._renderRelease();
      return;
    }
    this._render();
  }

  /**
   * Ask the kernel for a fresh status (an empty `configure`), to say how the heap went.
   */
  private _askStatus(): void {
    this._statusAfterScan = false;
    this._awaitingStatus = !!this.session?.send?.({ type: 'configure' });
  }

  private _notConnected(session: IHeapSession): string {
    const trans = this._options.trans;
    switch (session.state) {
      case 'not-heapscope':
        return trans.__(
          'The kernel “%1” does not run heapscope: it cannot say who holds memory.',
          session.sessionContext.kernelDisplayName
        );
      case 'no-kernel':
        return trans.__('This notebook has no running kernel.');
      case 'connecting':
        return trans.__('Still connecting to the kernel: try again in a moment.');
      case 'reconnecting':
        return trans.__('Reconnecting to the kernel: try again in a moment.');
      default:
        return trans.__('The kernel closed the heapscope connection. Restart the kernel to reconnect.');
    }
  }

  private _renderStatus(): void {
    const trans = this._options.trans;
    const session = this.session;
    const state = this._state;
    const line = this._statusLine;
    line.classList.remove('jp-mod-warning');
    this._progress.hidden = true;
    this._scanButton.disabled = !session;
    this.node.setAttribute('aria-busy', String(state?.phase === 'scanning'));
    if (!session || !state) {
      line.textContent = trans.__('Open a notebook to see who holds its memory.');
      return;
    }
    if (session.state !== 'connected' && state.phase !== 'failed') {
      line.textContent = this._notConnected(session);
      line.classList.add('jp-mod-warning');
      return;
    }
    switch (state.phase) {
      case 'idle':
        this._scanButton.textContent = trans.__('Find who holds memory');
        line.textContent = trans.__(
          'Which names, outputs and tracebacks keep memory alive, and what deleting each would free.'
        );
        return;
      case 'scanning': {
        this._scanButton.textContent = trans.__('Scanning…');
        line.textContent = progressText(state.progress);
        const fraction = progressFraction(state.progress);
        this._progress.hidden = false;
        if (fraction === null) {
          this._progress.removeAttribute('value');
        } else {
          this._progress.value = fraction;
        }
        return;
      }
      case 'failed':
        this._scanButton.textContent = trans.__('Try again');
        line.textContent = trans.__('No holders list: %1', displayText(state.reason ?? '', 1000));
        line.classList.add('jp-mod-warning');
        return;
      case 'done': {
        this._scanButton.textContent = trans.__('Scan again');
        const holders = state.holders!;
        let text = holdersSummary(holders);
        const at = holders.at;
        if (at !== undefined && session.model.cells.some(cell => cell.ended_at > at)) {
          text += ' · ' + trans.__('cells ran since: scan again to update');
          line.classList.add('jp-mod-warning');
        }
        line.textContent = text;
        return;
      }
    }
  }

  private _renderRelease(): void {
    this._releaseLine.textContent = this._releaseText;
    this._releaseLine.hidden = this._releaseText === '';
  }

  private _render(): void {
    this._renderStatus();
    this._renderRelease();
    const node = this._content.node;
    const session = this.session;
    const holders = this._state?.holders ?? null;
    node.classList.toggle('jp-mod-stale', this._state?.phase === 'scanning');
    if (!session || !holders) {
      node.replaceChildren();
      return;
    }
    const shared = createSharedList(holders);
    const canNavigate = this._options.canNavigate(session);
    const table = createHoldersTable(holders, {
      lookup: this._options.lookup(session),
      onNavigate: (frame: IFrame) => this._options.navigate(session, frame),
      canNavigate,
      onJumpToCell: holder => this._options.navigate(session, Private.cellFrame(holder)),
      canJumpToCell: holder =>
        holder.kind !== 'other' && holder.cell_id !== null && canNavigate(Private.cellFrame(holder)),
      onRelease: holder => void this.release(holder),
      filter: this._options.filter(),
      isMine: this._options.isMine?.(session) ?? ((frame: IFrame) => isMyCodeFrame(frame)),
      sort: this._sort,
      onSort: sort => (this._sort = sort),
      expanded: this._expanded,
      onExpand: (name, open) => (open ? this._expanded.add(name) : this._expanded.delete(name))
    });
    node.replaceChildren(...(shared ? [shared, table] : [table]));
  }

  private _options: HoldersView.IOptions;
  private _state: HoldersState | null = null;
  private _scanButton: HTMLButtonElement;
  private _progress: HTMLProgressElement;
  private _statusLine: HTMLElement;
  private _releaseLine: HTMLElement;
  private _content: Widget;
  private _sort: IHolderSort = DEFAULT_HOLDER_SORT;
  private _expanded = new Set<string>();
  private _releaseText = '';
  private _awaitingStatus = false;
  private _statusAfterScan = false;
  private _scanAt = 0;
  private _before: number | null = null;
  private _after: number | null = null;
}

/**
 * A namespace for HoldersView statics.
 */
export namespace HoldersView {
  /**
   * After this many milliseconds without an answer, pressing the button asks the kernel again.
   */
  export const RESCAN_MS = 30_000;

  /**
   * The options of the view.
   */
  export interface IOptions {
    /**
     * Goes to a frame's code (a site's line, the cell that bound a name).
     */
    navigate: (session: IHeapSession, frame: IFrame) => void;
    /**
     * Whether a frame of a session's notebook can be navigated to.
     */
    canNavigate: (session: IHeapSession) => (frame: IFrame) => boolean;
    /**
     * Which sites are hidden at first.
     */
    filter: () => ISiteFilter;
    /**
     * The source lookup of a session's notebook.
     */
    lookup: (session: IHeapSession) => SourceLookup;
    /**
     * Whether a frame is the user's code.
     */
    isMine?: (session: IHeapSession) => (frame: IFrame) => boolean;
    /**
     * The translation bundle.
     */
    trans: TranslationBundle;
    /**
     * Asks the user to confirm (default: JupyterLab's dialog).
     */
    confirm?: (title: string, body: string, accept: string) => Promise<boolean>;
  }
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * Ask with JupyterLab's dialog; cancel is the default button.
   */
  export async function confirm(title: string, body: string, accept: string): Promise<boolean> {
    const result = await showDialog({
      title,
      body,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: accept })],
      defaultButton: 0
    });
    return result.button.accept;
  }

  /**
   * The place of the cell that bound a holder: its first line.
   */
  export function cellFrame(holder: IHolder): IFrame {
    return {
      file: '',
      line: null,
      function: holder.name,
      cell_id: holder.cell_id,
      cell_line: 1,
      execution_count: holder.execution_count ?? null
    };
  }
}
