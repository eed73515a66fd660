/**
 * Two sets of a notebook's cells matched as `heapscope diff` matches them (the twin of
 * `report_cells`, `match_cells` and `percent` in kernel-launcher/heapscope/diff.py; both run
 * lab-extension/budget/match-cases.json). Pure: no DOM, no kernel.
 *
 * Passes, each over the cells still unmatched:
 * 1. by **cell id**: `same` (same source, same position), `moved` (same source, other position) or
 *    `edited` (other source);
 * 2. by **source** (the same text, leading and trailing space ignored): `same` or `moved`;
 * 3. by **position**: `edited`;
 * and the rest are `deleted` (only before) or `added` (only after).
 */
import { formatSignedBytes } from '../format/bytes';
import { IRunFigures, peakAdded, pyStrip } from './budget';

/**
 * How a cell of one side was matched with the other.
 */
export type MatchKind = 'same' | 'moved' | 'edited' | 'added' | 'deleted';

/**
 * What matching reads of a cell.
 */
export interface IMatchable {
  readonly cell_id?: string | null;
  readonly index?: number | null;
  readonly source?: string;
}

/**
 * A report cell as {@link reportCells} reads it.
 */
export interface IReportRun extends IMatchable, IRunFigures {
  readonly seq?: number;
}

/**
 * One row of a match: i indexes the before side, j the after side (null on the missing side).
 */
export type MatchRow = readonly [MatchKind, number | null, number | null];

/**
 * A report's cells, one per notebook cell (its last run), in notebook order; a script's report
 * (no run with an `index`): its runs, numbered.
 *
 * @param report - a report (protocol/report.schema.json).
 */
export function reportCells<T extends IReportRun>(report: {
  readonly cells?: ReadonlyArray<T>;
  readonly target?: { readonly kind?: string } | null;
}): Array<T & { index: number }> {
  const all = report.cells ?? [];
  let runs = all.filter(c => c.index !== null && c.index !== undefined) as Array<T & { index: number }>;
  if (runs.length === 0 && report.target?.kind === 'script') {
    runs = all.map((c, i) => ({ ...c, index: i }));
  }
  // Like Python's dict, a Map keeps a key where it was first set; the sort is stable.
  const last = new Map<string, T & { index: number }>();
  for (const run of runs) {
    // A cell id, or the position for a cell without one (('index', n) in Python).
    last.set(run.cell_id ? `id:${run.cell_id}` : `index:${run.index}`, run);
  }
  return [...last.values()].sort((a, b) => a.index - b.index || (a.seq ?? 0) - (b.seq ?? 0));
}

/**
 * Match two lists of cells.
 *
 * @param before - the before side's cells (e.g. a saved report's {@link reportCells}).
 * @param after - the after side's cells.
 * @returns a row per cell, in the after side's order, each deleted cell right after the cell that
 *   preceded it in the before side.
 */
export function matchCells(before: ReadonlyArray<IMatchable>, after: ReadonlyArray<IMatchable>): MatchRow[] {
  const pairs = new Map<number, [MatchKind, number]>();
  const taken = new Set<number>();
  const pair = (i: number, j: number, kind: MatchKind) => {
    pairs.set(i, [kind, j]);
    taken.add(j);
  };
  const byId = new Map<string, number>();
  after.forEach((cell, j) => {
    if (cell.cell_id) {
      byId.set(cell.cell_id, j);
    }
  });
  before.forEach((cell, i) => {
    const j = cell.cell_id ? byId.get(cell.cell_id) : undefined;
    if (j !== undefined && !taken.has(j)) {
      if (!sameSource(cell, after[j])) {
        pair(i, j, 'edited');
      } else {
        pair(i, j, samePosition(cell, after[j]) ? 'same' : 'moved');
      }
    }
  });
  before.forEach((cell, i) => {
    if (pairs.has(i)) {
      return;
    }
    const j = after.findIndex((other, k) => !taken.has(k) && sameSource(cell, other));
    if (j >= 0) {
      pair(i, j, samePosition(cell, after[j]) ? 'same' : 'moved');
    }
  });
  before.forEach((cell, i) => {
    if (pairs.has(i)) {
      return;
    }
    const j = after.findIndex((other, k) => !taken.has(k) && samePosition(cell, other));
    if (j >= 0) {
      pair(i, j, 'edited');
    }
  });
  const ofAfter = new Map<number, [MatchKind, number]>();
  pairs.forEach(([kind, j], i) => ofAfter.set(j, [kind, i]));
  const out: Array<[MatchKind, number | null, number | null]> = after.map((_, j) => {
    const found = ofAfter.get(j);
    return found ? [found[0], found[1], j] : ['added', null, j];
  });
  for (let i = 0; i < before.length; i++) {
    if (pairs.has(i)) {
      continue;
    }
    let at = 0;
    for (let k = i - 1; k >= 0; k--) {
      const row = out.findIndex(r => r[1] === k);
      if (row >= 0) {
        at = row + 1;
        break;
      }
    }
    while (at < out.length && out[at][0] === 'deleted') {
      at++;
    }
    out.splice(at, 0, ['deleted', i, null]);
  }
  return out;
}

/**
 * The change from `before` to `after` in % of `before`, to 2 decimals (null when `before` is not
 * positive).
 */
export function percentChange(before: number, after: number): number | null {
  if (before <= 0) {
    return null;
  }
  return Math.round((((after - before) * 100) / before) * 100) / 100;
}

/**
 * A percentage as `heapscope diff` prints it: ` (+14.0 %)`, or '' for none.
 */
export function percentText(value: number | null): string {
  if (value === null) {
    return '';
  }
  // As Python's f"{value:+.1f}": the sign of the value, also when it rounds to 0.0.
  return ` (${value < 0 ? '-' : '+'}${Math.abs(value).toFixed(1)} %)`;
}

/**
 * A cell's peak compared with its match on the other side, for the badge's tooltip:
 * `peak +120 MB vs saved (+14.0 %): +860 MB → +980 MB`, with ` [edited]` or ` [moved]` when the
 * cell changed.
 *
 * @param before - the matched run of the other side (saved report, previous run).
 * @param after - this cell's run.
 * @param label - the other side in a word or two (`saved`, `previous run`).
 * @param kind - how the cells were matched.
 */
export function peakDeltaText(before: IRunFigures, after: IRunFigures, label: string, kind: MatchKind): string {
  const a = peakAdded(before);
  const b = peakAdded(after);
  let text =
    `peak ${formatSignedBytes(b - a)} vs ${label}${percentText(percentChange(a, b))}: ` +
    `${formatSignedBytes(a)} → ${formatSignedBytes(b)}`;
  if (kind === 'moved' || kind === 'edited') {
    text += ` [${kind}]`;
  }
  return text;
}

/**
 * Whether two cells hold the same source, leading and trailing space ignored.
 */
function sameSource(a: IMatchable, b: IMatchable): boolean {
  return pyStrip(String(a.source ?? '')) === pyStrip(String(b.source ?? ''));
}

/**
 * Whether two cells sit at the same position (Python's `==` on the `index`, absent as None).
 */
function samePosition(a: IMatchable, b: IMatchable): boolean {
  return (a.index ?? null) === (b.index ?? null);
}
