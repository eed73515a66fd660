/**
 * What the Holders view and the report's Holders section show, and in which order: the sort of the
 * holders table, the sentences about shared memory, the cell column, the progress and empty-state
 * lines. Pure: no DOM, no kernel. Every kernel string returned here is plain text (`displayText`):
 * callers put it into the DOM with `textContent` only.
 */
import type { IHolder, IHolders, ISharedHolders } from '../comm/protocol';
import { formatBytes } from '../format/bytes';
import { displayText } from '../format/text';

/**
 * The columns the holders table sorts by.
 */
export type HolderSortKey = 'name' | 'kind' | 'bytes' | 'reachable' | 'type' | 'cell';

/**
 * A sort order of the holders table.
 */
export interface IHolderSort {
  readonly key: HolderSortKey;
  readonly descending: boolean;
}

/**
 * The default order: what deleting frees, largest first (the kernel's order).
 */
export const DEFAULT_HOLDER_SORT: IHolderSort = { key: 'bytes', descending: true };

/**
 * The columns, in table order: the key, the header's words and its tooltip.
 */
export const HOLDER_COLUMNS: ReadonlyArray<{
  readonly key: HolderSortKey;
  readonly title: string;
  readonly caption: string;
}> = [
  { key: 'name', title: 'Name', caption: 'The variable, output (Out[n]) or traceback that keeps memory alive' },
  { key: 'kind', title: 'Kind', caption: 'variable, output, traceback, or the rest of the heap' },
  {
    key: 'bytes',
    title: 'Frees',
    caption: 'Frees if deleted: the memory only this holder keeps alive (deleting it alone frees this much)'
  },
  {
    key: 'reachable',
    title: 'Reachable',
    caption: 'Everything reachable from it, memory shared with other names included'
  },
  { key: 'type', title: 'Type', caption: 'The type of the object held' },
  { key: 'cell', title: 'Cell', caption: 'The cell that last bound the name (or displayed the output)' }
];

/**
 * The order a column is sorted in when it is chosen: figures largest first, words A to Z, cells
 * in execution order.
 *
 * @param key - the column.
 */
export function initialHolderSort(key: HolderSortKey): IHolderSort {
  return { key, descending: key === 'bytes' || key === 'reachable' };
}

/**
 * The order after a column header is activated: the other direction for the column sorted now,
 * else the column's initial order.
 *
 * @param current - the order now.
 * @param key - the column activated.
 */
export function nextHolderSort(current: IHolderSort, key: HolderSortKey): IHolderSort {
  return current.key === key ? { key, descending: !current.descending } : initialHolderSort(key);
}

/**
 * The `aria-sort` value of a column header.
 *
 * @param sort - the order now.
 * @param key - the column.
 */
export function holderAriaSort(sort: IHolderSort, key: HolderSortKey): 'ascending' | 'descending' | 'none' {
  if (sort.key !== key) {
    return 'none';
  }
  return sort.descending ? 'descending' : 'ascending';
}

/**
 * The kinds in the order the Kind column sorts them (what people can drop first).
 */
const KIND_ORDER: { readonly [kind: string]: number } = { variable: 0, output: 1, traceback: 2, other: 3 };

/**
 * Sort holders. "Not reachable from your names" (kind `other`) is no name one can delete: it
 * stays last in every order. Ties keep the kernel's order (by bytes).
 *
 * @param holders - the kernel's holders.
 * @param sort - the order.
 * @returns a new array.
 */
export function sortHolders<T extends IHolder>(holders: ReadonlyArray<T>, sort: IHolderSort): T[] {
  const sign = sort.descending ? -1 : 1;
  const compare = Private.comparators[sort.key];
  return holders
    .map((holder, i) => ({ holder, i }))
    .sort((a, b) => {
      const other = Number(a.holder.kind === 'other') - Number(b.holder.kind === 'other');
      if (other !== 0) {
        return other;
      }
      // An unknown cell sorts after every known one, in both directions.
      const unknown = sort.key === 'cell' ? Private.noCell(a.holder) - Private.noCell(b.holder) : 0;
      return unknown || sign * compare(a.holder, b.holder) || a.i - b.i;
    })
    .map(entry => entry.holder);
}

/**
 * The Cell column of a holder: `[3]` (the run that bound the name or displayed the output), or
 * empty when unknown.
 *
 * @param holder - the holder.
 */
export function holderCell(holder: IHolder): string {
  const count = holder.execution_count;
  if (count !== null && count !== undefined) {
    return `[${count}]`;
  }
  return holder.cell_id !== null ? '[?]' : '';
}

/**
 * Whether the panel can jump to the cell that bound a holder.
 *
 * @param holder - the holder.
 */
export function canJumpToCell(holder: IHolder): boolean {
  return holder.kind !== 'other' && holder.cell_id !== null;
}

/**
 * Whether the kernel can drop a holder (`release_holder`): outputs and the last traceback only;
 * variables are the user's to delete.
 *
 * @param holder - the holder.
 */
export function isReleasable(holder: IHolder): boolean {
  return holder.kind === 'output' || holder.kind === 'traceback';
}

/**
 * The words of a holder kind.
 *
 * @param kind - the holder's kind.
 */
export function kindLabel(kind: IHolder['kind']): string {
  switch (kind) {
    case 'variable':
      return 'variable';
    case 'output':
      return 'output';
    case 'traceback':
      return 'traceback';
    case 'other':
      return 'rest of heap';
  }
}

/**
 * A holder's cells as plain text: name, kind, frees, reachable, type, cell.
 */
export interface IHolderRow {
  readonly name: string;
  readonly kind: string;
  readonly bytes: string;
  readonly reachable: string;
  readonly type: string;
  readonly cell: string;
}

/**
 * Present a holder as a row of plain text (kernel strings made displayable).
 *
 * @param holder - the holder.
 */
export function holderRow(holder: IHolder): IHolderRow {
  return {
    name: displayText(holder.name, 200),
    kind: kindLabel(holder.kind),
    bytes: formatBytes(holder.bytes),
    reachable: formatBytes(holder.reachable_bytes),
    type: displayText(holder.type, 200),
    cell: holderCell(holder)
  };
}

/**
 * A list of names in words: `a`, `a and b`, `a, b and c`, `a, b, c and 7 more`.
 *
 * @param names - the names (plain text already).
 * @param max - names written out before "N more".
 */
export function nameList(names: ReadonlyArray<string>, max = 4): string {
  if (names.length <= 1) {
    return names[0] ?? '';
  }
  if (names.length <= max) {
    return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  }
  return `${names.slice(0, max - 1).join(', ')} and ${names.length - (max - 1)} more`;
}

/**
 * Shared memory said plainly: "a and b share 80 MB; deleting both frees it."
 *
 * @param group - memory reachable from exactly these holders.
 * @returns one sentence (plain text).
 */
export function sharedSentence(group: ISharedHolders): string {
  const names = group.names.map(name => displayText(name, 80));
  const all =
    names.length === 2 ? 'both' : names.length <= 4 ? `all ${Private.WORDS[names.length]}` : `all ${names.length}`;
  return `${nameList(names)} share ${formatBytes(group.bytes)}; deleting ${all} frees it.`;
}

/**
 * The sentences about a holder's shared memory: "shares 80 MB with b" for each group it is in.
 *
 * @param name - the holder's name.
 * @param shared - the kernel's shared groups.
 * @returns plain text, largest group first; empty when it shares nothing.
 */
export function sharedWith(name: string, shared: ReadonlyArray<ISharedHolders>): string[] {
  return shared
    .filter(group => group.names.includes(name))
    .sort((a, b) => b.bytes - a.bytes)
    .map(
      group =>
        `shares ${formatBytes(group.bytes)} with ${nameList(group.names.filter(n => n !== name).map(n => displayText(n, 80)))}`
    );
}

/**
 * Shared groups worth a sentence: at least `minBytes` and at least 1 % of the largest group.
 *
 * @param shared - the kernel's shared groups.
 * @param minBytes - the smallest group said (default 1 MB).
 * @returns largest first.
 */
export function notableShared(shared: ReadonlyArray<ISharedHolders>, minBytes = 1_000_000): ISharedHolders[] {
  const sorted = [...shared].sort((a, b) => b.bytes - a.bytes);
  const top = sorted[0]?.bytes ?? 0;
  return sorted.filter(group => group.bytes >= minBytes && group.bytes >= top / 100);
}

/**
 * The summary line over the table: how much the listed names hold and how long the scan took.
 *
 * @param holders - the kernel's answer.
 * @returns plain text.
 */
export function holdersSummary(holders: IHolders): string {
  const names = holders.holders.filter(h => h.kind !== 'other');
  const frees = names.reduce((sum, h) => sum + h.bytes, 0);
  const shared = holders.shared.reduce((sum, g) => sum + g.bytes, 0);
  const parts =
    names.length === 0
      ? ['No name, output or traceback of yours keeps memory alive']
      : [
          names.length === 1 ? '1 holder' : `${names.length} holders`,
          `${formatBytes(frees + shared)} held by your names`
        ];
  if (holders.objects !== undefined) {
    parts.push(`${holders.objects.toLocaleString('en-US')} objects walked`);
  }
  if (holders.seconds !== undefined) {
    parts.push(`${holders.seconds < 1 ? holders.seconds.toFixed(2) : holders.seconds.toFixed(1)} s`);
  }
  return parts.join(' · ');
}

/**
 * The kernel's progress message.
 */
export interface IHoldersProgress {
  readonly phase: 'walk' | 'sizes' | 'holders';
  readonly done: number;
  readonly total: number;
}

/**
 * The progress line of a running scan.
 *
 * @param progress - the kernel's latest progress, or null before the first.
 * @returns plain text.
 */
export function progressText(progress: IHoldersProgress | null): string {
  if (!progress) {
    return 'Asking the kernel who holds the memory…';
  }
  const count = (n: number) => n.toLocaleString('en-US');
  switch (progress.phase) {
    case 'walk':
      return `Walking the objects your names reach… ${count(progress.done)} so far`;
    case 'sizes':
      return `Measuring objects… ${count(progress.done)} of ${count(progress.total)}`;
    case 'holders':
      return `Working out what each name frees… ${count(progress.done)} of ${count(progress.total)}`;
  }
}

/**
 * The share of a scan done, for a progress bar: null while unknown (the walk finds its total as it
 * goes).
 *
 * @param progress - the kernel's latest progress.
 */
export function progressFraction(progress: IHoldersProgress | null): number | null {
  if (!progress || progress.phase === 'walk' || !(progress.total > 0)) {
    return null;
  }
  return Math.min(1, Math.max(0, progress.done / progress.total));
}

/**
 * What the release dialog says before an output or the traceback is dropped.
 *
 * @param holder - an output or the traceback.
 * @returns the dialog's title and body (plain text).
 */
export function releaseQuestion(holder: IHolder): { title: string; body: string } {
  const name = displayText(holder.name, 200);
  if (holder.kind === 'traceback') {
    return {
      title: 'Release the last traceback?',
      body:
        `The kernel forgets the last exception and its traceback (sys.last_traceback, sys.last_value, IPython’s stored ` +
        `traceback), which keep the failing frames’ variables alive. This frees about ${formatBytes(holder.bytes)}. ` +
        '%debug can no longer inspect that error.'
    };
  }
  return {
    title: `Release ${name}?`,
    body:
      `The kernel forgets the output ${name} (and its aliases _, __, ___ and _${holder.execution_count ?? 'n'} where ` +
      `they are that object). This frees about ${formatBytes(holder.bytes)}. Code that reads ${name} afterwards ` +
      'fails; re-run its cell to get it back.'
  };
}

/**
 * What the view says after the kernel answered a release.
 *
 * @param name - the holder's name.
 * @param released - the kernel's answer.
 * @param before - the heap before (status `current_bytes`), if known.
 * @param after - the heap after, if known.
 * @returns plain text.
 */
export function releasedText(name: string, released: boolean, before?: number | null, after?: number | null): string {
  const shown = displayText(name, 200);
  if (!released) {
    return `The kernel did not release ${shown}: it is gone already, or a cell is running.`;
  }
  if (typeof before === 'number' && typeof after === 'number') {
    return `Released ${shown}: the heap went from ${formatBytes(before)} to ${formatBytes(after)}.`;
  }
  return `Released ${shown}.`;
}

/**
 * A module-private namespace.
 */
namespace Private {
  export const WORDS = ['', 'one', 'two', 'three', 'four'];

  const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

  export const noCell = (h: IHolder): number => Number(h.execution_count === null || h.execution_count === undefined);

  export const comparators: { readonly [K in HolderSortKey]: (a: IHolder, b: IHolder) => number } = {
    name: (a, b) => text(a.name.toLowerCase(), b.name.toLowerCase()) || text(a.name, b.name),
    kind: (a, b) => (KIND_ORDER[a.kind] ?? 9) - (KIND_ORDER[b.kind] ?? 9),
    bytes: (a, b) => a.bytes - b.bytes,
    reachable: (a, b) => a.reachable_bytes - b.reachable_bytes,
    type: (a, b) => text(a.type, b.type),
    cell: (a, b) => (a.execution_count ?? 0) - (b.execution_count ?? 0)
  };
}
