/**
 * The guard in the exported report (the page `report/viewer.ts` renders, for the extension's export
 * and `heapscope report` alike): the memory limit, guard stops and post-mortems. Pure text helpers;
 * the block of a cell's detail is `createGuardDetail` (guard/detail.ts).
 */
import type { IChartTheme } from '../chart/theme';
import type { ICellRun, IProfilerStatus } from '../comm/protocol';
import type { IGuardColours } from './chartTraces';
import { guardStopText, IMemoryLimit, limitText, postMortemSummary } from './text';

/**
 * The part of a report the guard reads.
 */
export interface IGuardReport {
  readonly memory_limit?: IMemoryLimit | null;
  readonly kernel?: { readonly status?: IProfilerStatus | null } | null;
  readonly cells?: ReadonlyArray<ICellRun>;
}

/**
 * The report's memory limit: the top-level one, else the kernel status's.
 *
 * @param report - the report.
 */
export function reportLimit(report: IGuardReport): IMemoryLimit | null {
  return report.memory_limit ?? report.kernel?.status?.memory_limit ?? null;
}

/**
 * The header fact: `memory limit 629 MB (cgroup v1)`.
 *
 * @param report - the report.
 * @returns null without a limit.
 */
export function reportLimitFact(report: IGuardReport): string | null {
  const limit = reportLimit(report);
  return limit ? `memory limit ${limitText(limit)}` : null;
}

/**
 * The header's warnings: each kernel death and each guard stop, in order.
 *
 * @param cells - the report's runs.
 */
export function reportGuardWarnings(cells: ReadonlyArray<ICellRun>): string[] {
  const out: string[] = [];
  for (const cell of cells) {
    if (cell.status === 'killed') {
      out.push(postMortemSummary(cell));
    } else if (cell.status === 'guard') {
      out.push(`[${cell.execution_count ?? '?'}] ${guardStopText(cell.guard_stop)}`);
    }
  }
  return out;
}

/**
 * A run's status in the report's table: the guard's words for a stop, "killed" for a death.
 *
 * @param cell - the run.
 */
export function reportStatusText(cell: ICellRun): string {
  if (cell.status === 'guard') {
    return guardStopText(cell.guard_stop);
  }
  if (cell.status === 'killed') {
    return 'killed (the kernel died)';
  }
  return cell.status;
}

/**
 * The status the report's chart is drawn with: the kernel's status, with the report's limit.
 *
 * @param report - the report.
 */
export function reportChartStatus(report: IGuardReport): IProfilerStatus | null {
  const status = report.kernel?.status ?? null;
  const limit = reportLimit(report);
  if (!status) {
    return null;
  }
  return limit ? { ...status, memory_limit: limit } : status;
}

/**
 * The guard's chart colours on the report page (light or dark, from the page's chart theme).
 *
 * @param theme - the page's chart colours.
 */
export function reportGuardColours(theme: IChartTheme): IGuardColours {
  const light = theme.background.toLowerCase() === '#ffffff';
  return {
    rss: theme.foreground,
    limit: light ? '#d32f2f' : '#e57373',
    soft: theme.peak,
    foreground: theme.foreground,
    background: theme.background
  };
}
