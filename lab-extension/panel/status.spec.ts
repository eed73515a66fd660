import { nullTranslator } from '@jupyterlab/translation';

import { MAX_NOTES, panelStatus } from './status';
import { HeapModel } from '../model/model';
import type { HeapConnection } from '../comm/connection';
import type { IHeapSession } from '../tracker/tokens';
import { cellPayload, cellStartPayload, statusPayload } from '../testing/fixtures';

const trans = nullTranslator.load('heapscope');

/** A session in a given state, with a model the test fills. */
function session(state: HeapConnection.State, model = new HeapModel()): IHeapSession {
  return {
    state,
    model,
    sessionContext: { kernelDisplayName: 'Python 3 (ipykernel)' }
  } as unknown as IHeapSession;
}

describe('panelStatus', () => {
  it('asks for a notebook when there is none', () => {
    expect(panelStatus(null, trans)).toEqual({
      text: 'Open a notebook to see its heap.',
      level: 'info',
      showChart: false,
      notes: []
    });
  });

  it('explains a kernel without the heapscope agent, naming it', () => {
    const status = panelStatus(session('not-heapscope'), trans);
    expect(status.level).toBe('warning');
    expect(status.showChart).toBe(false);
    expect(status.text).toBe(
      'The kernel “Python 3 (ipykernel)” does not run the heapscope agent, so there is no heap data. ' +
        'Choose the kernel “Python 3 (heapscope)” to profile this notebook.'
    );
  });

  it('names the heapscope kernelspec the server has, found by its metadata (a gateway’s own name)', () => {
    const behindGateway = {
      ...session('not-heapscope'),
      sessionContext: {
        kernelDisplayName: 'Python 3',
        specsManager: {
          specs: {
            default: 'python3',
            kernelspecs: {
              python3: { name: 'python3', display_name: 'Python 3', metadata: {} },
              py_k8s: { name: 'py_k8s', display_name: 'Python on Kubernetes (heapscope)', metadata: { heapscope: {} } }
            }
          }
        }
      }
    } as any;
    expect(panelStatus(behindGateway, trans).text).toContain('Choose the kernel “Python on Kubernetes (heapscope)”');
  });

  it('says when there is no kernel or it is connecting', () => {
    expect(panelStatus(session('no-kernel'), trans).text).toBe('This notebook has no running kernel.');
    expect(panelStatus(session('connecting'), trans).text).toBe('Connecting to the kernel…');
    expect(panelStatus(session('reconnecting'), trans).text).toBe('Reconnecting to the kernel…');
  });

  it('shows the reason of an inactive profiler', () => {
    const model = new HeapModel();
    const reason = 'the heapscope shim library was not found at /x; the kernel runs unprofiled';
    model.apply({ type: 'status', status: statusPayload({ active: false, reason }) });
    expect(panelStatus(session('connected', model), trans)).toEqual({
      text: `Profiling is off: ${reason}`,
      level: 'warning',
      showChart: false,
      notes: []
    });
  });

  it('invites to run a cell before any data', () => {
    const model = new HeapModel();
    model.apply({ type: 'history', status: statusPayload(), cells: [], running: null });
    expect(panelStatus(session('connected', model), trans)).toEqual({
      text: 'Run a cell to see its heap.',
      level: 'info',
      showChart: false,
      notes: []
    });
  });

  it('summarises the data and shows the chart', () => {
    const model = new HeapModel();
    model.apply({ type: 'cell', cell: cellPayload({ started_at: 1 }) });
    expect(panelStatus(session('connected', model), trans)).toEqual({
      text: '1 cell run · heap now 252 MB',
      level: 'info',
      showChart: true,
      notes: []
    });
    model.apply({ type: 'cell', cell: cellPayload({ started_at: 2, end_bytes: 100_000_000 }) });
    expect(panelStatus(session('connected', model), trans).text).toBe('2 cell runs · heap now 100 MB');
    model.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'x', execution_count: 9 }) });
    expect(panelStatus(session('connected', model), trans).text).toBe('Cell [9] is running · heap 52.4 MB');
    model.apply({ type: 'ticks', seq: null, ticks: [[1, 345_000_000]] });
    expect(panelStatus(session('connected', model), trans).text).toBe('Cell [9] is running · heap 345 MB');
  });

  it('keeps the chart of a closed connection', () => {
    const model = new HeapModel();
    model.apply({ type: 'cell', cell: cellPayload() });
    const status = panelStatus(session('closed', model), trans);
    expect(status.level).toBe('warning');
    expect(status.showChart).toBe(true);
  });

  it('shows a reason as safe text', () => {
    const model = new HeapModel();
    model.apply({ type: 'status', status: statusPayload({ active: false, reason: 'bad \u202e<b>x</b>\u0007' }) });
    expect(panelStatus(session('connected', model), trans).text).toBe(
      'Profiling is off: bad \\u{202e}<b>x</b>\\u{0007}'
    );
  });

  it('says the heap now from the kernel’s status when it moved between cells (a release)', () => {
    const model = new HeapModel();
    model.apply({ type: 'cell', cell: cellPayload() });
    model.apply({ type: 'status', status: statusPayload({ current_bytes: 252_600_000 }) });
    expect(panelStatus(session('connected', model), trans).text).toBe('1 cell run · heap now 252 MB');
    model.apply({ type: 'status', status: statusPayload({ current_bytes: 152_000_000 }) });
    expect(panelStatus(session('connected', model), trans).text).toBe('1 cell run · heap now 152 MB');
  });

  it('warns about degraded bookkeeping and the agent’s latest warnings, as text lines', () => {
    const model = new HeapModel();
    model.apply({ type: 'cell', cell: cellPayload() });
    const warnings = [
      'w1',
      'w2',
      'HEAPSCOPE_SAMPLE_INTERVAL=-1 is not a positive integer; using 524288',
      'w4',
      'x\u202ey'
    ];
    model.apply({
      type: 'status',
      status: { ...statusPayload({ degraded: true, current_bytes: 252_428_800 }), warnings } as ReturnType<
        typeof statusPayload
      >
    });
    const status = panelStatus(session('connected', model), trans);
    expect(status.level).toBe('warning');
    expect(status.text).toBe('1 cell run · heap now 252 MB');
    expect(status.notes).toEqual([
      'The profiler ran out of bookkeeping memory: figures may be low.',
      `${warnings.length - MAX_NOTES} earlier kernel warnings`,
      'Kernel: HEAPSCOPE_SAMPLE_INTERVAL=-1 is not a positive integer; using 524288',
      'Kernel: w4',
      'Kernel: x\\u{202e}y'
    ]);
    // A disconnected kernel's old warnings are not shown.
    expect(panelStatus(session('closed', model), trans).notes).toEqual([]);
  });

  it('follows every status message', () => {
    const model = new HeapModel();
    model.apply({ type: 'cell', cell: cellPayload() });
    model.apply({ type: 'status', status: statusPayload({ degraded: true }) });
    expect(panelStatus(session('connected', model), trans).notes).toHaveLength(1);
    model.apply({ type: 'status', status: statusPayload({ degraded: false }) });
    expect(panelStatus(session('connected', model), trans)).toMatchObject({ level: 'info', notes: [] });
  });
});
