/**
 * The Heap panel's memory block: the limit, usage and RSS; the soft warning (amber) or the guard
 * stop; the post-mortem of a kernel that died; what "Return freed memory" gave back.
 */
import { Widget } from '@lumino/widgets';

import type { HeapModel } from '../model/model';
import { button, element } from '../sites/elements';
import type { IHeapSession } from '../tracker/tokens';
import { guardStateFor, GuardState, panelGuardLevel } from './state';
import { guardSettingsText, memoryLineText, postMortemSummary, warningText } from './text';

/**
 * The CSS class of the block.
 */
export const GUARD_BANNER_CLASS = 'jp-heapscope-GuardBanner';

/**
 * The class the panel gets while a run is over the soft threshold (amber).
 */
export const MEMORY_WARNING_CLASS = 'jp-mod-memoryWarning';

/**
 * The panel's memory block; it follows one heap session at a time.
 */
export class GuardBanner extends Widget {
  /**
   * Construct the block.
   *
   * @param options - what the post-mortem's button does and where the amber class goes.
   */
  constructor(options: GuardBanner.IOptions) {
    super();
    this._options = options;
    this.addClass(GUARD_BANNER_CLASS);
    this._memory = element('p', 'jp-heapscope-GuardBanner-memory');
    this._warning = element('p', 'jp-heapscope-GuardBanner-warning');
    this._warning.setAttribute('role', 'status');
    this._postMortem = element('div', 'jp-heapscope-GuardBanner-postMortem');
    this._postMortem.setAttribute('role', 'alert');
    this._released = element('p', 'jp-heapscope-GuardBanner-released');
    this._released.setAttribute('role', 'status');
    this.node.append(this._memory, this._warning, this._postMortem, this._released);
    this._render();
  }

  /**
   * The session shown.
   */
  get session(): IHeapSession | null {
    return this._session;
  }
  set session(session: IHeapSession | null) {
    if (session === this._session) {
      return;
    }
    this._session?.model.changed.disconnect(this._onModelChanged, this);
    this._session?.stateChanged.disconnect(this._render, this);
    this._state?.changed.disconnect(this._render, this);
    this._session = session;
    this._state = session ? guardStateFor(session.model) : null;
    session?.model.changed.connect(this._onModelChanged, this);
    session?.stateChanged.connect(this._render, this);
    this._state?.changed.connect(this._render, this);
    this._releasedText = '';
    this._render();
  }

  /**
   * Show what "Return freed memory" did (until the session changes or the next answer).
   *
   * @param text - the message.
   */
  showReleased(text: string): void {
    this._releasedText = text;
    this._render();
  }

  /**
   * Dispose of the block (idempotent).
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.session = null;
    super.dispose();
  }

  private _onModelChanged(_: HeapModel, args: HeapModel.IChangedArgs): void {
    if (args.kind === 'ticks' || args.kind === 'detail' || args.kind === 'retained') {
      return;
    }
    if (args.kind === 'clear') {
      this._releasedText = '';
    }
    this._render();
  }

  private _render(): void {
    const model = this._session?.state === 'connected' ? this._session.model : null;
    const status = model?.status ?? null;
    const memory = memoryLineText(status);
    this._memory.textContent = memory ?? '';
    this._memory.title = guardSettingsText(status) ?? '';
    this._memory.hidden = memory === null;

    const level = panelGuardLevel(status);
    const warning = status?.memory_warning ?? null;
    if (warning) {
      this._warning.textContent =
        level === 'stopped'
          ? `${warning.execution_count === null ? 'The last cell' : `Cell [${warning.execution_count}]`} was ${warningText(warning, status?.memory_limit)}.`
          : `⚠ ${warningText(warning, status?.memory_limit)}`;
    } else {
      this._warning.textContent = '';
    }
    this._warning.hidden = !warning;
    this._warning.classList.toggle('jp-mod-stopped', level === 'stopped');
    this._options.setLevel(level);

    const killed = this._state && this._session ? this._state.killed : null;
    this._postMortem.textContent = '';
    this._postMortem.hidden = !killed;
    if (killed && this._state) {
      const state = this._state;
      const heading = element('p', 'jp-heapscope-GuardBanner-postMortemTitle', 'Post-mortem: the kernel died');
      const close = button('jp-heapscope-GuardBanner-dismiss', '×', 'Hide this post-mortem');
      close.addEventListener('click', () => state.dismiss(killed));
      heading.appendChild(close);
      const show = button('jp-heapscope-GuardBanner-show jp-mod-styled', 'Show the lines it held');
      show.addEventListener('click', () => {
        if (killed.seq !== undefined) {
          this._options.showRun(killed.seq);
        }
      });
      this._postMortem.append(
        heading,
        element('p', 'jp-heapscope-GuardBanner-postMortemText', postMortemSummary(killed)),
        show
      );
    }

    this._released.textContent = this._releasedText;
    this._released.hidden = !this._releasedText;
    this.setHidden(memory === null && !warning && !killed && !this._releasedText);
  }

  private _options: GuardBanner.IOptions;
  private _session: IHeapSession | null = null;
  private _state: GuardState | null = null;
  private _memory: HTMLElement;
  private _warning: HTMLElement;
  private _postMortem: HTMLElement;
  private _released: HTMLElement;
  private _releasedText = '';
}

/**
 * A namespace for GuardBanner statics.
 */
export namespace GuardBanner {
  /**
   * The options of the block.
   */
  export interface IOptions {
    /**
     * Shows a run's detail (the post-mortem's button).
     */
    showRun: (seq: number) => void;
    /**
     * Called with the panel's guard level at every draw (the panel toggles its amber class).
     */
    setLevel: (level: 'none' | 'warn' | 'stopped') => void;
  }
}
