/**
 * The memory guard's words (issue 12): the limit, the soft warning, a guard stop, a post-mortem,
 * heap beside RSS and "Return freed memory". Pure: protocol objects in, plain text out (kernel
 * strings pass through `displayText` and are always put into the page as text, never HTML).
 */
import type { ICellRun, IProfilerStatus } from '../comm/protocol';
import { formatBytes, formatSignedBytes } from '../format/bytes';
import { displayText } from '../format/text';

/**
 * The kernel's effective memory limit (`status.memory_limit`).
 */
export type IMemoryLimit = NonNullable<IProfilerStatus['memory_limit']>;

/**
 * Usage over the soft threshold, or a guard stop (`status.memory_warning`).
 */
export type IMemoryWarning = NonNullable<IProfilerStatus['memory_warning']>;

/**
 * The answer to `release_memory` (`status.released`).
 */
export type IReleased = NonNullable<IProfilerStatus['released']>;

/**
 * How the guard stopped a run (`CellRun.guard_stop`).
 */
export type IGuardStop = NonNullable<ICellRun['guard_stop']>;

/**
 * What the next kernel read of a dead kernel's last snapshot (`CellRun.post_mortem`).
 */
export type IPostMortem = NonNullable<ICellRun['post_mortem']>;

/**
 * Where a limit comes from, in words.
 */
export const LIMIT_SOURCE_TEXT: { readonly [source in IMemoryLimit['source']]: string } = {
  cgroup: 'cgroup',
  cgroup_high: 'cgroup memory.high',
  cgroup_v1: 'cgroup v1',
  cgroup_v1_memsw: 'cgroup v1 memory+swap',
  rlimit_as: 'RLIMIT_AS',
  rlimit_data: 'RLIMIT_DATA',
  available: 'available memory'
};

/**
 * The words of a limit's source (the source itself for one this version does not know).
 *
 * @param source - `memory_limit.source`.
 */
export function limitSourceText(source: string): string {
  return (LIMIT_SOURCE_TEXT as { [key: string]: string })[source] ?? displayText(source, 40);
}

/**
 * A limit in short: `16 GB (cgroup)`.
 *
 * @param limit - the limit.
 */
export function limitText(limit: IMemoryLimit): string {
  return `${formatBytes(limit.bytes)} (${limitSourceText(limit.source)})`;
}

/**
 * A percentage without a fraction digit for a share of the limit: `82 %`.
 *
 * @param fraction - usage / limit.
 */
export function percentText(fraction: number): string {
  if (!Number.isFinite(fraction) || fraction < 0) {
    return '? %';
  }
  return `${Math.round(fraction * 100)} %`;
}

/**
 * The cell a run or warning names: `cell [7]`, or `the running cell` without an execution count.
 *
 * @param executionCount - the run's execution count.
 */
export function cellName(executionCount: number | null | undefined): string {
  return executionCount === null || executionCount === undefined ? 'the running cell' : `cell [${executionCount}]`;
}

/**
 * The soft threshold's warning: the kernel's message (e.g. "cell [7] is at 82 % of the 16 GB
 * limit (cgroup)"), or the same words built from the figures when it sent none.
 *
 * @param warning - `status.memory_warning`.
 * @param limit - `status.memory_limit`, for its source when the message is empty.
 */
export function warningText(warning: IMemoryWarning, limit?: IMemoryLimit | null): string {
  const message = displayText(warning.message ?? '', 300).trim();
  if (message) {
    return message;
  }
  const source = limit ? ` (${limitSourceText(limit.source)})` : '';
  return (
    `${cellName(warning.execution_count)} is at ${percentText(warning.fraction)} of the ` +
    `${formatBytes(warning.limit_bytes)} limit${source}`
  );
}

/**
 * A guard stop's words: the kernel's message ("stopped by heapscope at 15.2 GB of 16 GB") or the
 * same words built from its figures.
 *
 * @param stop - `CellRun.guard_stop`.
 */
export function guardStopText(stop: IGuardStop | undefined): string {
  if (!stop) {
    return 'stopped by heapscope';
  }
  const message = displayText(stop.message ?? '', 300).trim();
  return message || `stopped by heapscope at ${formatBytes(stop.usage_bytes)} of ${formatBytes(stop.limit_bytes)}`;
}

/**
 * How the guard stopped a run, in a sentence for the cell detail.
 *
 * @param stop - `CellRun.guard_stop`.
 */
export function guardHowText(stop: IGuardStop): string {
  if (stop.how === 'refused') {
    const size = stop.request_bytes ? ` of ${formatBytes(stop.request_bytes)}` : '';
    const more = stop.refused && stop.refused > 1 ? ` (${stop.refused} allocations refused)` : '';
    return `An allocation${size} would have crossed the guard’s hard threshold: it failed with MemoryError${more}. The kernel and its variables are intact.`;
  }
  return 'Usage crossed the guard’s hard threshold without an allocation to refuse (pages touched, memory heapscope does not track): the cell was interrupted. The kernel and its variables are intact.';
}

/**
 * The likely cause of a kernel's death, in words.
 *
 * @param cause - `post_mortem.cause`.
 */
export function causeText(cause: string): string {
  switch (cause) {
    case 'oom_kill':
      return 'killed by the OOM killer (the cgroup’s OOM-kill count went up)';
    case 'signal_near_limit':
      return 'most likely out of memory: it died close to its memory limit';
    default:
      return 'unknown (a crash, os._exit or a signal far from the memory limit)';
  }
}

/**
 * The post-mortem's one-paragraph summary: "The kernel died while running cell [3]: killed by
 * the OOM killer …. Last seen with heap 580 MB, RSS 610 MB of 629.1 MB (cgroup v1)."
 *
 * @param run - the run with status `killed`.
 */
export function postMortemSummary(run: Pick<ICellRun, 'execution_count' | 'post_mortem'>): string {
  const post = run.post_mortem;
  const cell = run.execution_count === null ? 'a cell' : `cell [${run.execution_count}]`;
  if (!post) {
    return `The kernel died while running ${cell}.`;
  }
  const limit = post.limit ? ` of ${limitText(post.limit)}` : '';
  return (
    `The kernel died while running ${cell}: ${causeText(post.cause)}. ` +
    `Last seen with heap ${formatBytes(post.heap_bytes)}, RSS ${formatBytes(post.rss_bytes)}${limit}.`
  );
}

/**
 * When the last snapshot was taken: `14:03:07` (local time).
 *
 * @param at - seconds since the epoch.
 */
export function clockText(at: number): string {
  if (!Number.isFinite(at)) {
    return '?';
  }
  const date = new Date(at * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/**
 * A run's heap Δ and RSS Δ (end − start of each), or null for RSS when the kernel sent no RSS.
 *
 * @param run - a finished run.
 */
export function runDeltas(run: ICellRun): { heap: string; rss: string | null; rssPeak: string | null } {
  const heap = formatSignedBytes(run.end_bytes - run.start_bytes);
  if (run.rss_start_bytes === undefined || run.rss_end_bytes === undefined) {
    return { heap, rss: null, rssPeak: null };
  }
  return {
    heap,
    rss: formatSignedBytes(run.rss_end_bytes - run.rss_start_bytes),
    rssPeak: run.rss_peak_bytes === undefined ? null : formatSignedBytes(run.rss_peak_bytes - run.rss_start_bytes)
  };
}

/**
 * Why RSS and the heap differ: shown under a run's deltas.
 */
export const GAP_EXPLANATION =
  'RSS is the memory the system counts for the kernel process; the heap is what heapscope tracks as ' +
  'allocated and not freed. RSS is usually higher: freed memory is not always returned to the system ' +
  '(the allocator keeps its arenas for reuse — “Return freed memory” asks for it back), and there is ' +
  'memory heapscope does not track: the interpreter’s code, thread stacks and mapped files. It is lower ' +
  'when memory was allocated but not touched yet (the system makes pages resident on first use).';

/**
 * The gap between RSS and the heap at a run's end, e.g. `RSS is 120 MB above the heap`.
 *
 * @param run - a finished run.
 * @returns null without RSS figures.
 */
export function gapText(run: ICellRun): string | null {
  if (run.rss_end_bytes === undefined) {
    return null;
  }
  const gap = run.rss_end_bytes - run.end_bytes;
  return gap >= 0
    ? `At the end, RSS was ${formatBytes(gap)} above the heap.`
    : `At the end, RSS was ${formatBytes(-gap)} below the heap (pages allocated but never touched are not resident).`;
}

/**
 * Less than this given back reads as "nothing to return" (a page or two always comes back).
 */
export const RELEASE_NOTHING_BYTES = 1_000_000;

/**
 * What "Return freed memory" did.
 */
export type ReleaseOutcome =
  | { readonly kind: 'released'; readonly released: IReleased }
  | { readonly kind: 'unsupported' }
  | { readonly kind: 'not-heapscope' }
  | { readonly kind: 'no-kernel' }
  | { readonly kind: 'timeout' };

/**
 * The message shown after "Return freed memory".
 *
 * @param outcome - what the kernel answered, or why it could not be asked.
 */
export function releaseText(outcome: ReleaseOutcome): string {
  switch (outcome.kind) {
    case 'released': {
      const r = outcome.released;
      const range = `RSS ${formatBytes(r.rss_before_bytes)} → ${formatBytes(r.rss_after_bytes)}`;
      if (r.released_bytes < RELEASE_NOTHING_BYTES) {
        const some = r.released_bytes > 0 ? `only ${formatBytes(r.released_bytes)}; ` : '';
        return `Nothing to return: the allocator held no freed memory worth giving back (${some}${range}). Memory still held by variables is not freed memory.`;
      }
      return `Returned ${formatBytes(r.released_bytes)} of freed memory to the system (${range}).`;
    }
    case 'unsupported':
      return 'This kernel’s heapscope cannot return freed memory (no shim loaded, or a kernel too old).';
    case 'not-heapscope':
      return 'This kernel does not run heapscope: it cannot return freed memory. Choose the kernel “Python 3 (heapscope)”.';
    case 'no-kernel':
      return 'This notebook has no running heapscope kernel to return memory from.';
    case 'timeout':
      return 'The kernel did not answer (a cell may still be running without subshells): try again when it is idle.';
  }
}

/**
 * The panel's memory line: `limit 16 GB (cgroup) · usage 9.1 GB (57 %) · RSS 8.8 GB`.
 *
 * @param status - the kernel's status.
 * @returns null when the kernel sent no limit.
 */
export function memoryLineText(status: IProfilerStatus | null): string | null {
  const limit = status?.memory_limit;
  if (!status || !limit) {
    return null;
  }
  const parts = [`limit ${limitText(limit)}`];
  if (status.usage_bytes) {
    parts.push(`usage ${formatBytes(status.usage_bytes)} (${percentText(status.usage_bytes / limit.bytes)})`);
  }
  if (status.rss_bytes) {
    parts.push(`RSS ${formatBytes(status.rss_bytes)}`);
  }
  return parts.join(' · ');
}

/**
 * The guard's state in a tooltip: on with its thresholds, or off and why.
 *
 * @param status - the kernel's status.
 */
export function guardSettingsText(status: IProfilerStatus | null): string | null {
  const guard = status?.guard;
  if (!guard) {
    return null;
  }
  if (!guard.on) {
    return `Memory guard off: ${displayText(guard.reason ?? 'switched off', 200)}.`;
  }
  return `Memory guard on: warns at ${percentText(guard.soft)} of the limit and stops a cell at ${percentText(guard.hard)}.`;
}
