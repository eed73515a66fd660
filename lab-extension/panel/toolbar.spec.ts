import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';

import { HeapModel } from '../model/model';
import { cellPayload, statusPayload } from '../testing/fixtures';
import type { IHeapSession, IHeapTracker } from '../tracker/tokens';
import { ProfilerMemory } from './toolbar';

/** A tracker with one current session whose model the test feeds. */
function trackerWith(model: HeapModel) {
  return {
    current: { model } as unknown as IHeapSession,
    currentChanged: new Signal<unknown, IHeapSession | null>({})
  } as unknown as IHeapTracker;
}

describe('ProfilerMemory', () => {
  const trans = nullTranslator.load('heapscope');

  it('shows the profiler memory of every status message, not only the first', () => {
    const model = new HeapModel();
    const memory = new ProfilerMemory({ tracker: trackerWith(model), trans });
    expect(memory.node.textContent).toBe('');
    model.apply({ type: 'status', status: statusPayload({ profiler_bytes: 1_500_000 }) });
    expect(memory.node.textContent).toBe('profiler 1.5 MB');
    // The kernel sends a status after every cell: the figure follows it.
    model.apply({ type: 'cell', cell: cellPayload() });
    model.apply({ type: 'status', status: statusPayload({ profiler_bytes: 36_000_000, tracked_blocks: 1234 }) });
    expect(memory.node.textContent).toBe('profiler 36 MB');
    expect(memory.node.title).toContain('1,234 allocations tracked');
    expect(memory.hasClass('jp-mod-warning')).toBe(false);
    model.apply({ type: 'status', status: statusPayload({ profiler_bytes: 37_000_000, degraded: true }) });
    expect(memory.node.textContent).toBe('profiler 37 MB');
    expect(memory.hasClass('jp-mod-warning')).toBe(true);
    expect(memory.node.title).toContain('figures may be low');
    model.apply({ type: 'status', status: statusPayload({ active: false, reason: 'off' }) });
    expect(memory.node.textContent).toBe('');
    memory.dispose();
  });
});
