import { nullTranslator } from '@jupyterlab/translation';

import { panelStatus } from './status';
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
      showChart: false
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

  it('says when there is no kernel or it is connecting', () => {
    expect(panelStatus(session('no-kernel'), trans).text).toBe('This notebook has no running kernel.');
    expect(panelStatus(session('connecting'), trans).text).toBe('Connecting to the kernel…');
  });

  it('shows the reason of an inactive profiler', () => {
    const model = new HeapModel();
    const reason = 'the heapscope shim library was not found at /x; the kernel runs unprofiled';
    model.apply({ type: 'status', status: statusPayload({ active: false, reason }) });
    expect(panelStatus(session('connected', model), trans)).toEqual({
      text: `Profiling is off: ${reason}`,
      level: 'warning',
      showChart: false
    });
  });

  it('invites to run a cell before any data', () => {
    const model = new HeapModel();
    model.apply({ type: 'history', status: statusPayload(), cells: [], running: null });
    expect(panelStatus(session('connected', model), trans)).toEqual({
      text: 'Run a cell to see its heap.',
      level: 'info',
      showChart: false
    });
  });

  it('summarises the data and shows the chart', () => {
    const model = new HeapModel();
    model.apply({ type: 'cell', cell: cellPayload({ started_at: 1 }) });
    expect(panelStatus(session('connected', model), trans)).toEqual({
      text: '1 cell run · heap now 252 MB',
      level: 'info',
      showChart: true
    });
    model.apply({ type: 'cell', cell: cellPayload({ started_at: 2, end_bytes: 100_000_000 }) });
    expect(panelStatus(session('connected', model), trans).text).toBe('2 cell runs · heap now 100 MB');
    model.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'x', execution_count: 9 }) });
    expect(panelStatus(session('connected', model), trans).text).toBe('Cell [9] is running · heap 52.4 MB');
    model.apply({ type: 'samples', seq: null, samples: [[1, 345_000_000]] });
    expect(panelStatus(session('connected', model), trans).text).toBe('Cell [9] is running · heap 345 MB');
  });

  it('keeps the chart of a closed connection', () => {
    const model = new HeapModel();
    model.apply({ type: 'cell', cell: cellPayload() });
    const status = panelStatus(session('closed', model), trans);
    expect(status.level).toBe('warning');
    expect(status.showChart).toBe(true);
  });
});
