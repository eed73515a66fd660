/**
 * Per-cell memory budgets (docs/ci.md): the rules, as pure functions. The twin of
 * kernel-launcher/heapscope/budgets.py; both run the cases of lab-extension/format/budget-cases.json.
 *
 * A budget limits two figures of a cell's run:
 *
 * - `max_peak`: the **peak added** during the run, `peak_bytes - start_bytes` (the badge's "peak +X");
 * - `max_retained`: the heap the cell **still holds**: its entry in `retained_by_cell` (memory alive, by
 *   the cell that allocated it); a cell missing from the list counts as 0; without such a list (null:
 *   no line-level attribution) the cell's net growth `max(0, end_bytes - start_bytes)` stands in.
 *
 * A run breaks a budget when its figure is strictly greater than the limit. Budgets come from the
 * cell's metadata `{"heapscope": {"max_peak": "2 GB", "max_retained": "500 MB"}}` and, on the command
 * line, from defaults for every cell; the cell's metadata wins key by key, `null` removes a limit.
 */
import { formatBytes, formatSignedBytes, parseBytes } from '../format/bytes';

/**
 * The cell metadata key (shared with the badges' persisted figures: other keys are left alone).
 */
export const METADATA_KEY = 'heapscope';

/**
 * The budget names, in the order they are checked and listed.
 */
export const BUDGET_NAMES = ['max_peak', 'max_retained'] as const;

/**
 * A budget name.
 */
export type BudgetName = (typeof BUDGET_NAMES)[number];

/**
 * Limits in bytes; null: no limit. A partial budget (from metadata) has only the keys it sets.
 */
export type Budget = { [name in BudgetName]: number | null };

/**
 * The keys a cell's metadata sets.
 */
export type PartialBudget = Partial<Budget>;

/**
 * The longest first code line shown in a message, in characters (`…` added when cut).
 */
export const LABEL_LENGTH = 40;

/**
 * The largest size accepted: 2^53 - 1 bytes.
 */
export const MAX_PARSED = Number.MAX_SAFE_INTEGER;

/**
 * A budget that cannot be read; its message is one line, meant for the user.
 */
export class BudgetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BudgetError';
  }
}

/**
 * The figures of a run that budgets read (a CellRun or a report cell).
 */
export interface IRunFigures {
  readonly cell_id?: string | null;
  readonly execution_count?: number | null;
  readonly start_bytes: number;
  readonly peak_bytes: number;
  readonly end_bytes: number;
}

/**
 * An entry of `retained_by_cell` as budgets read it.
 */
export interface IRetainedEntry {
  readonly cell_id: string | null;
  readonly execution_count?: number | null;
  readonly seq?: number | null;
  readonly bytes: number;
}

/**
 * A limit as written in metadata: a size text (`500 MB`, `2GiB`), a number of bytes, or null.
 *
 * @param value - the metadata value.
 * @param where - where it was read, to begin the error message.
 * @throws BudgetError when the value is no size.
 */
export function parseLimit(value: unknown, where: string): number | null {
  if (value === null) {
    return null;
  }
  if (typeof value === 'boolean') {
    return Private.fail(`${where}: ${value ? 'True' : 'False'} is not a size (write e.g. "500 MB")`);
  }
  if (typeof value === 'number') {
    if (!(value >= 0 && value <= MAX_PARSED && Number.isInteger(value))) {
      return Private.fail(`${where}: ${value} is not a whole number of bytes (0 to 2^53 - 1)`);
    }
    return value;
  }
  if (typeof value === 'string') {
    const bytes = parseBytes(value);
    if (bytes === null) {
      return Private.fail(
        `${where}: not a size: ${JSON.stringify(value)} (write e.g. 500 MB, 2GB, 1.5 GiB or a number of bytes)`
      );
    }
    return bytes;
  }
  return Private.fail(`${where}: ${Array.isArray(value) ? 'a list' : 'an object'} is not a size (write e.g. "500 MB")`);
}

/**
 * The budget a cell's metadata sets: only the keys it sets, `{}` when it sets none.
 *
 * @param metadata - the cell's whole metadata (an object), or its `heapscope` section's parent.
 * @param where - where it was read, e.g. `cell [3]`.
 * @throws BudgetError when `metadata.heapscope` is not an object or a limit is no size.
 */
export function budgetFromMetadata(metadata: unknown, where = 'cell'): PartialBudget {
  if (!Private.isObject(metadata) || !(METADATA_KEY in metadata)) {
    return {};
  }
  const section = metadata[METADATA_KEY];
  if (!Private.isObject(section)) {
    return Private.fail(
      `${where}: metadata "${METADATA_KEY}" must be an object such as {"max_peak": "2 GB"}, not ${Private.typeName(section)}`
    );
  }
  const out: PartialBudget = {};
  for (const name of BUDGET_NAMES) {
    if (name in section) {
      out[name] = parseLimit(section[name], `${where} metadata ${METADATA_KEY}.${name}`);
    }
  }
  return out;
}

/**
 * The budget in force for a cell: the defaults, replaced key by key by the cell's.
 *
 * @param cell - the keys the cell's metadata sets.
 * @param defaults - the defaults for every cell (the command line's; `{}` in JupyterLab).
 */
export function resolveBudget(cell: PartialBudget, defaults: PartialBudget = {}): Budget {
  const out = {} as Budget;
  for (const name of BUDGET_NAMES) {
    out[name] = name in cell ? (cell[name] ?? null) : (defaults[name] ?? null);
  }
  return out;
}

/**
 * Whether a budget has at least one limit.
 */
export function hasLimits(budget: PartialBudget | null | undefined): boolean {
  return !!budget && BUDGET_NAMES.some(name => budget[name] !== null && budget[name] !== undefined);
}

/**
 * Peak added during the run: `peak_bytes - start_bytes`.
 */
export function peakAdded(run: IRunFigures): number {
  return run.peak_bytes - run.start_bytes;
}

/**
 * What the run left: `end_bytes - start_bytes`.
 */
export function netBytes(run: IRunFigures): number {
  return run.end_bytes - run.start_bytes;
}

/**
 * The heap the cell still holds (see the module's description).
 *
 * @param run - the cell's run.
 * @param retainedByCell - the heap alive by allocating cell; null without line-level attribution.
 */
export function retainedBytes(run: IRunFigures, retainedByCell: ReadonlyArray<IRetainedEntry> | null): number {
  if (retainedByCell === null) {
    return Math.max(0, netBytes(run));
  }
  const cellId = run.cell_id ?? null;
  const count = run.execution_count ?? null;
  for (const entry of retainedByCell) {
    if (entry.seq === null || entry.seq === undefined) {
      // Memory allocated outside any cell.
      continue;
    }
    if (cellId !== null && entry.cell_id === cellId) {
      return entry.bytes;
    }
    if (entry.cell_id === null && count !== null && (entry.execution_count ?? null) === count) {
      return entry.bytes;
    }
  }
  return 0;
}

/**
 * The names of the budgets a run broke, in {@link BUDGET_NAMES} order.
 */
export function overBudget(
  run: IRunFigures,
  budget: PartialBudget,
  retainedByCell: ReadonlyArray<IRetainedEntry> | null
): BudgetName[] {
  const broken: BudgetName[] = [];
  const peak = budget.max_peak;
  if (peak !== null && peak !== undefined && peakAdded(run) > peak) {
    broken.push('max_peak');
  }
  const retained = budget.max_retained;
  if (retained !== null && retained !== undefined && retainedBytes(run, retainedByCell) > retained) {
    broken.push('max_retained');
  }
  return broken;
}

/**
 * The figure a budget limits, for a run.
 */
export function budgetFigure(
  name: BudgetName,
  run: IRunFigures,
  retainedByCell: ReadonlyArray<IRetainedEntry> | null
): number {
  return name === 'max_peak' ? peakAdded(run) : retainedBytes(run, retainedByCell);
}

/**
 * Why a budget is broken, in words: `peak +2.4 GB > budget 2 GB`, `retained 610 MB > budget 500 MB`.
 *
 * @param name - the budget.
 * @param value - the run's figure ({@link budgetFigure}).
 * @param limit - the limit.
 */
export function reasonText(name: BudgetName, value: number, limit: number): string {
  const figure = name === 'max_peak' ? `peak ${formatSignedBytes(value)}` : `retained ${formatBytes(value)}`;
  return `${figure} > budget ${formatBytes(limit)}`;
}

/**
 * Python's `str.strip()`: what budgets.py and diff.py strip from sources and lines.
 */
export function pyStrip(text: string): string {
  return Private.strip(text);
}

/**
 * The cell's first line that is code (not blank, not a comment), cut at `limit` characters.
 */
export function firstCodeLine(source: string, limit = LABEL_LENGTH): string {
  const line =
    source
      .split(Private.LINE_BREAKS)
      .map(s => Private.strip(s))
      .find(s => s !== '' && !s.startsWith('#')) ?? '';
  const chars = Array.from(line);
  return chars.length <= limit ? line : Private.strip(chars.slice(0, limit - 1).join(''), 'end') + '…';
}

/**
 * One broken budget as `heapscope report` prints it: `cell [7] df = pd.read_csv(…): peak +2.4 GB > budget 2 GB`.
 *
 * @param index - the cell's 0-based position in the notebook, or null.
 * @param source - the cell's source.
 * @param name - the budget.
 * @param value - the run's figure.
 * @param limit - the limit.
 */
export function violationLine(
  index: number | null,
  source: string,
  name: BudgetName,
  value: number,
  limit: number
): string {
  let where = index === null ? 'cell' : `cell [${index}]`;
  const label = firstCodeLine(source);
  if (label) {
    where += ` ${label}`;
  }
  return `${where}: ${reasonText(name, value, limit)}`;
}

/**
 * How a budget is shown next to the badge's figures: `≤ 2 GB` (peak), `≤ 2 GB peak, 500 MB retained`.
 *
 * @param budget - the budget in force.
 * @returns the short text, or '' without limits.
 */
export function budgetShortText(budget: PartialBudget): string {
  const peak = budget.max_peak;
  const retained = budget.max_retained;
  const hasPeak = peak !== null && peak !== undefined;
  const hasRetained = retained !== null && retained !== undefined;
  if (hasPeak && hasRetained) {
    return `budget ${formatBytes(peak)} · ${formatBytes(retained)} retained`;
  }
  if (hasPeak) {
    return `budget ${formatBytes(peak)}`;
  }
  if (hasRetained) {
    return `budget ${formatBytes(retained)} retained`;
  }
  return '';
}

/**
 * The tooltip line of a budget: `Budget: peak +2 GB, retained 500 MB (cell metadata).`
 */
export function budgetTitleText(budget: PartialBudget): string {
  const parts: string[] = [];
  if (budget.max_peak !== null && budget.max_peak !== undefined) {
    parts.push(`peak ${formatSignedBytes(budget.max_peak)}`);
  }
  if (budget.max_retained !== null && budget.max_retained !== undefined) {
    parts.push(`retained ${formatBytes(budget.max_retained)}`);
  }
  return parts.length ? `Budget: ${parts.join(', ')} (cell metadata “heapscope”).` : '';
}

/**
 * The factor of "Set budget from this run".
 */
export const BUDGET_FACTOR = 1.2;

/**
 * The least limit "Set budget from this run" writes: figures differ by a few kB to MB between
 * runs, machines and library versions (docs/ci.md), so a cell that allocates next to nothing does
 * not get a budget it breaks at once.
 */
export const MIN_BUDGET = 1_000_000;

/**
 * A size as the badges write it, rounded **up** to their three significant digits: the text
 * parses back to at least `bytes` (`2.88 GB`, `149 MB`, `1 MB`).
 *
 * @param bytes - a non-negative byte count.
 */
export function formatBudgetSize(bytes: number): string {
  const value = Math.max(0, Math.ceil(bytes));
  const text = formatBytes(value);
  const parsed = parseBytes(text);
  if (parsed !== null && parsed >= value) {
    return text;
  }
  // Rounded down: round the three significant digits up instead.
  let unit = 1;
  while (value / unit >= 1000 && unit < 1e15) {
    unit *= 1000;
  }
  const scaled = value / unit;
  const step = scaled >= 100 ? 1 : scaled >= 10 ? 0.1 : 0.01;
  for (let k = 1; k <= 3; k++) {
    const up = (Math.floor(scaled / step + 1e-9) + k) * step;
    const candidate = formatBytes(Math.round(up * unit));
    const back = parseBytes(candidate);
    if (back !== null && back >= value) {
      return candidate;
    }
  }
  return `${value} B`;
}

/**
 * The metadata section "Set budget from this run × 1.2" writes: both limits at the run's figures
 * times `factor` (at least {@link MIN_BUDGET}), written as the badges write sizes; the section's
 * other keys are kept.
 *
 * @param section - the cell's current `heapscope` metadata (any value; kept only when an object).
 * @param run - the cell's run.
 * @param retainedByCell - as for {@link retainedBytes}.
 * @param factor - the margin (default {@link BUDGET_FACTOR}).
 */
export function budgetFromRun(
  section: unknown,
  run: IRunFigures,
  retainedByCell: ReadonlyArray<IRetainedEntry> | null,
  factor = BUDGET_FACTOR
): { [key: string]: unknown } {
  const limit = (figure: number) => formatBudgetSize(Math.max(MIN_BUDGET, Math.max(0, figure) * factor));
  return {
    ...(Private.isObject(section) ? section : {}),
    max_peak: limit(peakAdded(run)),
    max_retained: limit(retainedBytes(run, retainedByCell))
  };
}

/**
 * The metadata section without the budget keys ("Remove budget"), or undefined when nothing else
 * is left in it (the key is then deleted).
 *
 * @param section - the cell's current `heapscope` metadata.
 */
export function withoutBudget(section: unknown): { [key: string]: unknown } | undefined {
  if (!Private.isObject(section)) {
    return undefined;
  }
  const rest: { [key: string]: unknown } = {};
  for (const [key, value] of Object.entries(section)) {
    if (!(BUDGET_NAMES as ReadonlyArray<string>).includes(key)) {
      rest[key] = value;
    }
  }
  return Object.keys(rest).length ? rest : undefined;
}

/**
 * The budget keys of a metadata section, to keep when the section is rewritten (the badges'
 * `persistInMetadata` writes its figures into the same key).
 *
 * @param section - the cell's current `heapscope` metadata.
 */
export function budgetKeys(section: unknown): { [key: string]: unknown } {
  const out: { [key: string]: unknown } = {};
  if (Private.isObject(section)) {
    for (const name of BUDGET_NAMES) {
      if (name in section) {
        out[name] = section[name];
      }
    }
  }
  return out;
}

/**
 * A cell's budget as the badge reads it.
 */
export interface ICellBudgetState {
  /**
   * The limits in force; null when the cell has none.
   */
  readonly budget: Budget | null;
  /**
   * The metadata's problem (one line), when it cannot be read.
   */
  readonly error: string | null;
  /**
   * The budgets the run broke.
   */
  readonly broken: BudgetName[];
  /**
   * Why, one text per broken budget (`peak +2.4 GB > budget 2 GB`).
   */
  readonly reasons: string[];
}

/**
 * Read a cell's budget from its metadata and judge its run.
 *
 * @param metadata - the cell's whole metadata.
 * @param run - its last finished run, or undefined.
 * @param retainedByCell - as for {@link retainedBytes}.
 */
export function cellBudgetState(
  metadata: unknown,
  run: IRunFigures | undefined,
  retainedByCell: ReadonlyArray<IRetainedEntry> | null
): ICellBudgetState {
  let budget: Budget;
  try {
    budget = resolveBudget(budgetFromMetadata(metadata));
  } catch (error) {
    return { budget: null, error: (error as Error).message, broken: [], reasons: [] };
  }
  if (!hasLimits(budget)) {
    return { budget: null, error: null, broken: [], reasons: [] };
  }
  const broken = run ? overBudget(run, budget, retainedByCell) : [];
  const reasons = broken.map(name => reasonText(name, budgetFigure(name, run!, retainedByCell), budget[name]!));
  return { budget, error: null, broken, reasons };
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * The line breaks of Python's `str.splitlines`.
   */
  // eslint-disable-next-line no-control-regex -- Python's splitlines() breaks at these control characters too
  export const LINE_BREAKS = new RegExp('\\r\\n|[\\n\\r\\v\\f\\x1c\\x1d\\x1e\\x85\\u2028\\u2029]');

  /**
   * Python's whitespace for `str.strip` (JavaScript's `trim` also strips U+FEFF).
   */
  const SPACE = '[\\s\\x1c-\\x1f\\x85]';
  const START = new RegExp(`^(?:(?!\\ufeff)${SPACE})+`);
  const END = new RegExp(`(?:(?!\\ufeff)${SPACE})+$`);

  /**
   * Python's `str.strip()` (or `rstrip()` with `end`).
   */
  export function strip(text: string, side: 'both' | 'end' = 'both'): string {
    const right = text.replace(END, '');
    return side === 'end' ? right : right.replace(START, '');
  }

  export function isObject(value: unknown): value is { [key: string]: unknown } {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  }

  /**
   * Python's type name of a JSON value, as budgets.py says it.
   */
  export function typeName(value: unknown): string {
    if (typeof value === 'string') {
      return 'str';
    }
    if (typeof value === 'boolean') {
      return 'bool';
    }
    if (typeof value === 'number') {
      return Number.isInteger(value) ? 'int' : 'float';
    }
    if (Array.isArray(value)) {
      return 'list';
    }
    return value === null ? 'NoneType' : 'dict';
  }

  export function fail(message: string): never {
    throw new BudgetError(message);
  }
}
