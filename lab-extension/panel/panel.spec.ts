import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { HeapPanel } from './panel';
import { HeapModel } from '../model/model';
import type { HeapConnection } from '../comm/connection';
import type { IHeapSession, IHeapTracker } from '../tracker/tokens';
import { cellPayload } from '../testing/fixtures';

jest.mock('plotly.js-dist-min', () => ({
  __esModule: true,
  default: { react: jest.fn(() => Promise.resolve()), purge: jest.fn(), Plots: { resize: jest.fn() } }
}));

/** A session whose state the test sets. */
class FakeSession {
  constructor(readonly label: string) {}
  state: HeapConnection.State = 'connected';
  model = new HeapModel();
  stateChanged = new Signal<this, HeapConnection.State>(this);
  disposed = new Signal<this, void>(this);
  notebookPanel = { title: { label: this.label, changed: new Signal<unknown, void>({}) } };
  sessionContext = { kernelDisplayName: 'Python 3 (ipykernel)' };
  setState(state: HeapConnection.State) {
    this.state = state;
    this.stateChanged.emit(state);
  }
}

/** A tracker whose current session the test sets. */
class FakeTracker {
  current: FakeSession | null = null;
  currentChanged = new Signal<this, FakeSession | null>(this);
  setCurrent(session: FakeSession | null) {
    this.current = session;
    this.currentChanged.emit(session);
  }
}

describe('HeapPanel', () => {
  let tracker: FakeTracker;
  let panel: HeapPanel;

  beforeEach(() => {
    tracker = new FakeTracker();
    panel = new HeapPanel({ tracker: tracker as unknown as IHeapTracker });
    Widget.attach(panel, document.body);
  });

  afterEach(() => panel.dispose());

  const text = (selector: string) => panel.node.querySelector(selector)!.textContent;
  const viewsHidden = () =>
    panel.node.querySelector('.jp-heapscope-Panel-views')!.classList.contains('lm-mod-hidden');

  it('has the id, title and focusability of the DOM contract', () => {
    expect(panel.id).toBe('heapscope-panel');
    expect(panel.title.caption).toBe('Heap');
    expect(panel.node.tabIndex).toBe(0);
    expect(text('.jp-heapscope-Panel-title')).toBe('Heap');
    expect(panel.node.querySelector('.jp-heapscope-Chart')).not.toBeNull();
  });

  it('follows the current notebook and its state', () => {
    expect(text('.jp-heapscope-Panel-status')).toBe('Open a notebook to see its heap.');
    expect(viewsHidden()).toBe(true);

    const first = new FakeSession('first.ipynb');
    first.setState('not-heapscope');
    tracker.setCurrent(first);
    expect(panel.session).toBe(first as unknown as IHeapSession);
    expect(text('.jp-heapscope-Panel-notebook')).toBe('first.ipynb');
    expect(text('.jp-heapscope-Panel-status')).toMatch(/does not run the heapscope agent/);
    expect(panel.node.querySelector('.jp-heapscope-Panel-status.jp-mod-warning')).not.toBeNull();

    const second = new FakeSession('<b>second</b>.ipynb');
    tracker.setCurrent(second);
    second.model.apply({ type: 'cell', cell: cellPayload() });
    expect(text('.jp-heapscope-Panel-notebook')).toBe('<b>second</b>.ipynb');
    expect(panel.node.querySelector('b')).toBeNull();
    expect(text('.jp-heapscope-Panel-status')).toBe('1 cell run · heap now 252 MB');
    expect(viewsHidden()).toBe(false);
    expect(panel.chart.model).toBe(second.model);

    // The old session no longer drives the panel.
    first.setState('connected');
    expect(text('.jp-heapscope-Panel-status')).toBe('1 cell run · heap now 252 MB');
  });

  it('announces state changes and forgets a disposed session', () => {
    const states: number[] = [];
    panel.stateChanged.connect(() => states.push(1));
    const session = new FakeSession('nb.ipynb');
    tracker.setCurrent(session);
    session.setState('closed');
    expect(states).toHaveLength(2);
    session.disposed.emit();
    expect(panel.session).toBeNull();
    expect(text('.jp-heapscope-Panel-status')).toBe('Open a notebook to see its heap.');
  });
});
