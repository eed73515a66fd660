/**
 * The memory badge under an executed code cell.
 */
import { Widget } from '@lumino/widgets';

import type { ICellRecord } from '../comm/protocol';
import { formatBytes, formatSignedBytes } from '../format/bytes';
import type { BadgeLevel } from './thresholds';

/**
 * The CSS class of a badge (part of the DOM contract in docs/architecture.md).
 */
export const BADGE_CLASS = 'jp-heapscope-badge';

/**
 * A badge's text: the cell's net change (end − start) and what it added at its peak
 * (peak − start), e.g. `+200 MB · peak +200 MB`.
 *
 * @param record - the cell's last finished run.
 */
export function badgeText(record: ICellRecord): string {
  const net = formatSignedBytes(record.end_bytes - record.start_bytes);
  const peak = formatSignedBytes(record.peak_bytes - record.start_bytes);
  return `${net} · peak ${peak}`;
}

/**
 * A badge's tooltip: the absolute figures of the last run, how it ended and how many runs there were.
 *
 * @param record - the cell's last finished run.
 * @param runs - how many finished runs the cell had.
 */
export function badgeTooltip(record: ICellRecord, runs: number): string {
  const lines = [
    `[${record.execution_count ?? '?'}] heap at start ${formatBytes(record.start_bytes)}, ` +
      `peak ${formatBytes(record.peak_bytes)}, end ${formatBytes(record.end_bytes)}`
  ];
  if (record.status !== 'ok') {
    lines.push(record.status === 'error' ? 'The cell raised an error.' : 'The cell was aborted.');
  }
  if (runs > 1) {
    lines.push(`${runs} runs; this is the last one.`);
  }
  lines.push('1 MB = 1,000,000 bytes');
  return lines.join('\n');
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
  }

  /**
   * Show a cell's last run.
   *
   * @param record - the last finished run.
   * @param runs - how many finished runs the cell had.
   * @param level - the badge's level from the thresholds.
   * @param running - whether the cell is running again now.
   */
  setRun(record: ICellRecord, runs: number, level: BadgeLevel, running: boolean): void {
    this.node.textContent = badgeText(record);
    this.node.title = badgeTooltip(record, runs);
    this.toggleClass('jp-mod-warn', level === 'warn');
    this.toggleClass('jp-mod-critical', level === 'critical');
    this.toggleClass('jp-mod-error', record.status !== 'ok');
    this.toggleClass('jp-mod-running', running);
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
  }
}
