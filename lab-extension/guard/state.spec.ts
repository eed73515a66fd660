import { HeapModel } from '../model/model';
import { cellPayload, cellStartPayload, message, statusPayload } from '../testing/fixtures';
import { parseKernelMessage } from '../comm/protocol';
import {
  GuardState,
  guardStateFor,
  IGuardAlert,
  killedAlerts,
  latestKilled,
  panelGuardLevel,
  runBadgeState,
  runningBadgeState,
  warningAlert
} from './state';

const GB = 1_000_000_000;
const LIMIT = { bytes: 16 * GB, source: 'cgroup' as const };

function warning(seq: number, level: 'soft' | 'hard' = 'soft') {
  return {
    seq,
    cell_id: `c${seq}`,
    execution_count: seq,
    usage_bytes: 13.2 * GB,
    limit_bytes: 16 * GB,
    fraction: 0.825,
    level,
    message:
      level === 'soft'
        ? `cell [${seq}] is at 82 % of the 16 GB limit (cgroup)`
        : 'stopped by heapscope at 15.2 GB of 16 GB'
  };
}

function apply(model: HeapModel, type: string, body: { [key: string]: unknown }): void {
  const parsed = parseKernelMessage(message(type, body));
  if (!parsed.ok) {
    throw new Error(parsed.error);
  }
  model.apply(parsed.message);
}

function killedRun(overrides: { [key: string]: unknown } = {}) {
  return cellPayload({
    seq: 4,
    status: 'killed',
    ended_at: 1000,
    post_mortem: { heap_bytes: 5e8, rss_bytes: 6e8, at: 1000, cause: 'signal_near_limit', pid: 77, top_at_peak: [] },
    ...overrides
  });
}

describe('badge states', () => {
  it('reads killed and guard from the status, amber from the warning', () => {
    expect(runBadgeState(cellPayload({ status: 'killed' }), null)).toBe('killed');
    expect(runBadgeState(cellPayload({ status: 'guard' }), 'hard')).toBe('guard');
    expect(runBadgeState(cellPayload(), 'soft')).toBe('warn');
    expect(runBadgeState(cellPayload({ status: 'error' }), null)).toBe('none');
    expect(runningBadgeState(cellStartPayload({ seq: 7 }), warning(7))).toBe('warn');
    expect(runningBadgeState(cellStartPayload({ seq: 8 }), warning(7))).toBe('none');
    expect(runningBadgeState(cellStartPayload({ seq: 8 }), null)).toBe('none');
  });

  it('gives the panel’s level', () => {
    expect(panelGuardLevel(statusPayload({ memory_warning: warning(7) }))).toBe('warn');
    expect(panelGuardLevel(statusPayload({ memory_warning: warning(7, 'hard') }))).toBe('stopped');
    expect(panelGuardLevel(statusPayload({ memory_warning: null }))).toBe('none');
    expect(panelGuardLevel(null)).toBe('none');
  });
});

describe('alerts once per run', () => {
  it('alerts a soft warning once, a stop of the same run once more, then nothing', () => {
    const seen = new Set<string>();
    const soft = statusPayload({ memory_limit: LIMIT, memory_warning: warning(7) });
    expect(warningAlert(soft, seen)).toEqual({
      kind: 'soft',
      text: 'cell [7] is at 82 % of the 16 GB limit (cgroup)',
      seq: 7,
      cellId: 'c7'
    });
    // Every later status of the run repeats the warning: no flood.
    expect(warningAlert(soft, seen)).toBeNull();
    expect(warningAlert({ ...soft, current_bytes: 1 }, seen)).toBeNull();
    const hard = statusPayload({ memory_limit: LIMIT, memory_warning: warning(7, 'hard') });
    expect(warningAlert(hard, seen)?.text).toBe('Cell [7] was stopped by heapscope at 15.2 GB of 16 GB');
    expect(warningAlert(hard, seen)).toBeNull();
    // Another kernel process (pid) may reuse seq 7.
    expect(warningAlert({ ...soft, pid: 99 }, seen)?.kind).toBe('soft');
    expect(warningAlert(statusPayload(), seen)).toBeNull();
  });

  it('alerts a killed run once across the histories that carry it, and not an old death', () => {
    const seen = new Set<string>();
    const run = killedRun();
    expect(killedAlerts([cellPayload({ seq: 1 }), run], seen, 1100).map(a => a.kind)).toEqual(['killed']);
    // The next kernel's history carries it on with another seq.
    expect(killedAlerts([{ ...run, seq: 9 }], seen, 1200)).toEqual([]);
    expect(killedAlerts([killedRun({ started_at: 5 })], new Set(), 1000 + 3600)).toEqual([]);
  });

  it('shows the latest killed run unless dismissed', () => {
    const run = killedRun();
    expect(latestKilled([run, cellPayload({ seq: 5 })])).toBe(run);
    expect(latestKilled([cellPayload()])).toBeNull();
  });
});

describe('GuardState', () => {
  it('remembers the runs that crossed the soft threshold after the warning is gone, until another kernel', () => {
    const model = new HeapModel();
    const state = new GuardState(model, () => 1100);
    const alerts: IGuardAlert[] = [];
    const changed: Array<string | null> = [];
    state.alerted.connect((_, alert) => alerts.push(alert));
    state.changed.connect((_, args) => changed.push(args.cellId));

    apply(model, 'cell_start', { cell: cellStartPayload({ seq: 7, cell_id: 'c7' }) });
    apply(model, 'status', { status: statusPayload({ memory_limit: LIMIT, memory_warning: warning(7) }) });
    expect(state.badgeState(undefined, model.running)).toBe('warn');
    apply(model, 'status', { status: statusPayload({ memory_limit: LIMIT, memory_warning: warning(7) }) });
    apply(model, 'cell', { cell: cellPayload({ seq: 7, cell_id: 'c7' }) });
    // The next run starts: the kernel clears the warning; run 7 stays amber.
    apply(model, 'status', { status: statusPayload({ memory_limit: LIMIT, memory_warning: null }) });
    expect(state.badgeState(model.lastRun('c7'), null)).toBe('warn');
    expect(state.warnedLevel(8)).toBeNull();
    expect(alerts.map(a => a.kind)).toEqual(['soft']);
    expect(changed).toEqual(['c7']);

    apply(model, 'cell', { cell: killedRun({ seq: 9, cell_id: 'c9' }) });
    expect(alerts.map(a => a.kind)).toEqual(['soft', 'killed']);
    expect(state.killed?.seq).toBe(9);
    state.dismiss(state.killed!);
    expect(state.killed).toBeNull();

    model.clear();
    expect(state.warnedLevel(7)).toBeNull();
    state.dispose();
    model.dispose();
  });

  it('is one per model', () => {
    const model = new HeapModel();
    expect(guardStateFor(model)).toBe(guardStateFor(model));
    expect(guardStateFor(new HeapModel())).not.toBe(guardStateFor(model));
  });
});
