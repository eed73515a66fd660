/**
 * How a run ended, in words a person reads: the kernel's status, told apart from an interrupt.
 */
import type { ICellRun } from '../comm/protocol';

/**
 * How a run ended: ok, raised an error, was interrupted (KeyboardInterrupt), aborted (the
 * kernel has no result for it), stopped by heapscope's memory guard (`guard`), or the kernel died
 * in it (`killed`).
 */
export type RunOutcome = 'ok' | 'error' | 'interrupted' | 'aborted' | 'guard' | 'killed';

/**
 * How a run ended.
 *
 * @param run - the run (its `status`: `ok`, `error` or `aborted`; a kernel that says
 *   `interrupted` is understood too).
 * @param interrupted - whether the notebook shows a KeyboardInterrupt for this run (protocol 2
 *   reports an interrupt as `error`; the cell's error output is how the browser tells them apart).
 */
export function runOutcome(run: Pick<ICellRun, 'status'>, interrupted = false): RunOutcome {
  const status = run.status as string;
  if (status === 'ok') {
    return 'ok';
  }
  if (status === 'interrupted' || (status === 'error' && interrupted)) {
    return 'interrupted';
  }
  if (status === 'guard' || status === 'killed') {
    return status;
  }
  return status === 'error' ? 'error' : 'aborted';
}

/**
 * The words for an outcome in a hover or tooltip line ('' for ok).
 *
 * @param outcome - how the run ended.
 */
export function outcomeText(outcome: RunOutcome): string {
  switch (outcome) {
    case 'error':
      return 'raised an error';
    case 'interrupted':
      return 'interrupted';
    case 'aborted':
      return 'aborted';
    case 'guard':
      return 'stopped by heapscope';
    case 'killed':
      return 'the kernel died in this cell';
    default:
      return '';
  }
}
