/**
 * The memory badge under an executed code cell.
 */
import { closeIcon, errorIcon, LabIcon, stopIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import type { HeapTick, ICellRun, ICellStart } from '../comm/protocol';
import { formatBytes, formatSignedBytes } from '../format/bytes';
import { outcomeText, RunOutcome, runOutcome } from '../model/outcome';
import { guardIcon } from '../guard/icons';
import type { GuardBadgeState } from '../guard/state';
import { guardStopText } from '../guard/text';
import type { BadgeLevel } from './thresholds';

/**
 * The CSS class of a badge (part of the DOM contract in docs/architecture.md).
 */
export const BADGE_CLASS = 'jp-heapscope-badge';

/**
 * A badge's text: the cell's net change (end − start) and what it added at its peak
 * (peak − start), e.g. `+200 MB · peak +200 MB`.
 *
 * @param run - the cell's last finished run.
 */
export function badgeText(run: ICellRun): string {
  const net = formatSignedBytes(run.end_bytes - run.start_bytes);
  const peak = formatSignedBytes(run.peak_bytes - run.start_bytes);
  return `${net} · peak ${peak}`;
}

/**
 * A badge's tooltip: the figures of the cell's last runs (newest first), how they ended, and
 * what a click does.
 *
 * @param runs - the cell's finished runs, oldest first.
 * @param maxRuns - how many of the newest runs to list.
 * @param lastInterrupted - whether the newest run was interrupted (the notebook shows a
 *   KeyboardInterrupt; the kernel reports it as an error).
 */
export function badgeTooltip(runs: ReadonlyArray<ICellRun>, maxRuns = 5, lastInterrupted = false): string {
  const shown = runs.slice(-maxRuns).reverse();
  const lines = shown.map((run, i) => {
    let line =
      `[${run.execution_count ?? '?'}] net ${formatSignedBytes(run.end_bytes - run.start_bytes)}, ` +
      `peak ${formatSignedBytes(run.peak_bytes - run.start_bytes)} ` +
      `(heap ${formatBytes(run.start_bytes)} → ${formatBytes(run.peak_bytes)} → ${formatBytes(run.end_bytes)})`;
    const ran = runOutcome(run, i === 0 && lastInterrupted);
    const outcome = ran === 'guard' ? guardStopText(run.guard_stop) : outcomeText(ran);
    if (outcome) {
      line += `, ${outcome}`;
    }
    return line;
  });
  if (runs.length > shown.length) {
    lines.push(`… ${runs.length - shown.length} earlier runs`);
  }
  lines.push('Click for where the memory was allocated.', '1 MB = 1,000,000 bytes');
  return lines.join('\n');
}

/**
 * A running cell's badge text, from its live ticks: `running · +120 MB · peak +300 MB`.
 *
 * @param start - the running cell's `cell_start`.
 * @param ticks - its live ticks, oldest first.
 * @param livePeak - the highest tick when known (the model keeps it: no scan of the ticks).
 */
export function runningText(start: ICellStart, ticks: ReadonlyArray<HeapTick>, livePeak?: number): string {
  if (ticks.length === 0) {
    return 'running…';
  }
  let peak = start.start_bytes;
  if (livePeak !== undefined) {
    peak = Math.max(peak, livePeak);
  } else {
    for (const [, bytes] of ticks) {
      peak = Math.max(peak, bytes);
    }
  }
  const now = ticks[ticks.length - 1][1];
  return `running · ${formatSignedBytes(now - start.start_bytes)} · peak ${formatSignedBytes(peak - start.start_bytes)}`;
}

/**
 * The badge of one code cell.
 */
export class CellBadge extends Widget {
  /**
   * Construct a badge.
   *
   * @param options - the cell's id.
   */
  constructor(options: CellBadge.IOptions) {
    super();
    this.addClass(BADGE_CLASS);
    this.node.dataset.cellId = options.cellId;
    const activate = options.onActivate;
    if (activate) {
      this.addClass('jp-mod-clickable');
      this.node.tabIndex = 0;
      this.node.setAttribute('role', 'button');
      this.node.addEventListener('click', event => {
        event.stopPropagation();
        activate(options.cellId);
      });
      this.node.addEventListener('keydown', event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          event.stopPropagation();
          activate(options.cellId);
        }
      });
    }
  }

  /**
   * Show a cell's last run, or its live figures while it runs.
   *
   * @param run - the last finished run, or undefined for a cell running for the first time.
   * @param runs - the cell's finished runs, oldest first.
   * @param level - the badge's level from the thresholds.
   * @param live - the running cell's start and ticks when it is running now.
   * @param maxRuns - how many runs the tooltip lists.
   * @param interrupted - whether the last run was interrupted (see {@link runOutcome}).
   * @param guard - the memory guard's state of the cell (`guard/state.ts`): `warn` turns it amber.
   */
  setRun(
    run: ICellRun | undefined,
    runs: ReadonlyArray<ICellRun>,
    level: BadgeLevel,
    live: { start: ICellStart; ticks: ReadonlyArray<HeapTick>; peak?: number } | null,
    maxRuns = 5,
    interrupted = false,
    guard: GuardBadgeState = 'none'
  ): void {
    const outcome: RunOutcome = !live && run ? runOutcome(run, interrupted) : 'ok';
    const word = outcome === 'guard' && run ? guardStopText(run.guard_stop) : outcome;
    const text = live ? runningText(live.start, live.ticks, live.peak) : run ? badgeText(run) : '';
    const title = runs.length > 0 ? badgeTooltip(runs, maxRuns, interrupted) : 'Running: live heap figures.';
    // Only what changed is written: a badge is set on every message of its cell.
    if (text !== this._text || outcome !== this._outcome || word !== this._word) {
      this._text = text;
      this._outcome = outcome;
      this._word = word;
      this.node.textContent = text;
      if (outcome !== 'ok') {
        this.node.appendChild(Private.outcomeNode(outcome, word));
      }
      this.node.dataset.outcome = outcome;
      for (const decoration of this._decorations.values()) {
        if (decoration.node) {
          this.node.appendChild(decoration.node);
        }
      }
    }
    if (title !== this._title) {
      this._title = title;
      this._writeTitle();
    }
    this.toggleClass('jp-mod-warn', !live && level === 'warn');
    this.toggleClass('jp-mod-critical', !live && level === 'critical');
    this.toggleClass('jp-mod-error', outcome === 'error' || outcome === 'aborted');
    this.toggleClass('jp-mod-interrupted', outcome === 'interrupted');
    this.toggleClass('jp-mod-running', !!live);
    this.toggleClass('jp-mod-memoryWarning', guard === 'warn');
    this.toggleClass('jp-mod-guard', outcome === 'guard');
    this.toggleClass('jp-mod-killed', outcome === 'killed');
  }

  /**
   * The key of the decoration a feature shows ('' without one): a decoration is set again only when it
   * changed.
   *
   * @param slot - the feature's name (`budget`, `release`).
   */
  decorationKey(slot: string): string {
    return this._decorations.get(slot)?.key ?? '';
  }

  /**
   * Show what another feature adds to the badge (the budget and the comparison with a saved report; a
   * released output): a node after the figures and lines after the tooltip, kept when the figures change.
   * Each feature has its own slot; slots show in the order they were first set.
   *
   * @param slot - the feature's name.
   * @param decoration - the decoration, or null to remove it.
   */
  setDecoration(slot: string, decoration: CellBadge.IDecoration | null): void {
    this._decorations.get(slot)?.node?.remove();
    if (decoration) {
      this._decorations.set(slot, decoration);
      if (decoration.node) {
        this.node.appendChild(decoration.node);
      }
    } else {
      this._decorations.delete(slot);
    }
    this._writeTitle();
  }

  private _writeTitle(): void {
    const extra = Array.from(this._decorations.values(), d => d.title).filter(title => title);
    this.node.title = [this._title ?? '', ...extra].join('\n');
  }

  private _decorations = new Map<string, CellBadge.IDecoration>();
  private _text: string | null = null;
  private _title: string | null = null;
  private _outcome: RunOutcome | null = null;
  private _word: string | null = null;
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * The icon of each outcome other than ok.
   */
  const ICONS: { [outcome in Exclude<RunOutcome, 'ok'>]: LabIcon } = {
    error: closeIcon,
    interrupted: stopIcon,
    aborted: closeIcon,
    guard: guardIcon,
    killed: errorIcon
  };

  /**
   * ` · ✕ error`: an icon and the word, after the figures.
   */
  export function outcomeNode(outcome: Exclude<RunOutcome, 'ok'>, word: string = outcome): HTMLElement {
    const node = document.createElement('span');
    node.className = 'jp-heapscope-badge-outcome';
    node.dataset.outcome = outcome;
    node.appendChild(document.createTextNode(' · '));
    const icon = ICONS[outcome].element({
      tag: 'span',
      className: 'jp-heapscope-badge-outcomeIcon',
      elementSize: 'small'
    });
    icon.setAttribute('aria-hidden', 'true');
    node.appendChild(icon);
    node.appendChild(document.createTextNode(word));
    return node;
  }
}

/**
 * A namespace for CellBadge statics.
 */
export namespace CellBadge {
  /**
   * The options of a badge.
   */
  export interface IOptions {
    /**
     * The cell's model id, written to `data-cell-id`.
     */
    cellId: string;
    /**
     * Called with the cell id when the badge is clicked or activated with the keyboard.
     */
    onActivate?: (cellId: string) => void;
  }

  /**
   * What another feature adds to a badge (see {@link CellBadge.setDecoration}).
   */
  export interface IDecoration {
    /**
     * Says whether two decorations are the same.
     */
    readonly key: string;
    /**
     * A node shown after the figures, or null.
     */
    readonly node: HTMLElement | null;
    /**
     * Lines added to the tooltip ('' for none).
     */
    readonly title: string;
  }
}
