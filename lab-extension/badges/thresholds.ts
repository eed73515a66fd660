/**
 * Badge colouring thresholds, read from the `heapscope:badges` settings (schema/badges.json).
 */
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

import type { ICellRun } from '../comm/protocol';

/**
 * How much a cell may add at its peak before its badge is marked.
 */
export interface IBadgeThresholds {
  /**
   * Bytes added at the peak (peak − start) from which a badge is a warning; 0 turns it off.
   */
  readonly warnBytes: number;
  /**
   * Bytes added at the peak from which a badge is critical; 0 turns it off.
   */
  readonly criticalBytes: number;
}

/**
 * The defaults, the same as in schema/badges.json.
 */
export const DEFAULT_THRESHOLDS: IBadgeThresholds = {
  warnBytes: 100_000_000,
  criticalBytes: 1_000_000_000
};

/**
 * A badge's level.
 */
export type BadgeLevel = 'normal' | 'warn' | 'critical';

/**
 * Read the thresholds from the settings.
 *
 * @param composite - the plugin's composite settings.
 * @returns the thresholds; the default for a missing or invalid value.
 */
export function readThresholds(composite: ReadonlyPartialJSONObject): IBadgeThresholds {
  const read = (key: keyof IBadgeThresholds): number => {
    const value = composite[key];
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : DEFAULT_THRESHOLDS[key];
  };
  return { warnBytes: read('warnBytes'), criticalBytes: read('criticalBytes') };
}

/**
 * The level of a cell's badge: what it added at its peak against the thresholds.
 *
 * @param run - the cell's last run.
 * @param thresholds - the thresholds.
 */
export function badgeLevel(run: ICellRun, thresholds: IBadgeThresholds): BadgeLevel {
  const added = run.peak_bytes - run.start_bytes;
  if (thresholds.criticalBytes > 0 && added >= thresholds.criticalBytes) {
    return 'critical';
  }
  if (thresholds.warnBytes > 0 && added >= thresholds.warnBytes) {
    return 'warn';
  }
  return 'normal';
}

/**
 * The current thresholds, shared by the badges of every notebook.
 */
export class BadgeSettings {
  /**
   * The thresholds in force.
   */
  get thresholds(): IBadgeThresholds {
    return this._thresholds;
  }
  set thresholds(value: IBadgeThresholds) {
    if (value.warnBytes === this._thresholds.warnBytes && value.criticalBytes === this._thresholds.criticalBytes) {
      return;
    }
    this._thresholds = value;
    this._changed.emit(value);
  }

  /**
   * Emitted when a setting changes (with the thresholds in force).
   */
  get changed(): ISignal<this, IBadgeThresholds> {
    return this._changed;
  }

  /**
   * Whether each cell's last figures are written into its metadata (`heapscope`).
   */
  get persist(): boolean {
    return this._persist;
  }
  set persist(value: boolean) {
    if (value !== this._persist) {
      this._persist = value;
      this._changed.emit(this._thresholds);
    }
  }

  /**
   * How many runs a badge's tooltip lists.
   */
  get tooltipRuns(): number {
    return this._tooltipRuns;
  }
  set tooltipRuns(value: number) {
    const runs = Number.isInteger(value) && value >= 1 ? Math.min(value, 50) : 5;
    if (runs !== this._tooltipRuns) {
      this._tooltipRuns = runs;
      this._changed.emit(this._thresholds);
    }
  }

  private _persist = false;
  private _tooltipRuns = 5;
  private _thresholds: IBadgeThresholds = DEFAULT_THRESHOLDS;
  private _changed = new Signal<this, IBadgeThresholds>(this);
}
