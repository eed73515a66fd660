import { Signal } from '@lumino/signaling';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { HeapPanel } from './panel';
import { HeapModel } from '../model/model';
import type { HeapConnection } from '../comm/connection';
import type { IHeapSession, IHeapTracker } from '../tracker/tokens';
import { cellPayload, statusPayload } from '../testing/fixtures';

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
  requestRetained = jest.fn();
  requestDetail = jest.fn();
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
  const viewsHidden = () => panel.node.querySelector('.jp-heapscope-Panel-views')!.classList.contains('lm-mod-hidden');

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

  it('leaves its status alone while hidden and brings it up to date when shown', () => {
    const session = new FakeSession('nb.ipynb');
    tracker.setCurrent(session);
    const before = text('.jp-heapscope-Panel-status');
    expect(before).not.toBe('1 cell run · heap now 252 MB');
    panel.hide();
    session.model.apply({ type: 'cell', cell: cellPayload() });
    expect(text('.jp-heapscope-Panel-status')).toBe(before);
    panel.show();
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

  it('lists the kernel’s warnings under the status, as text', () => {
    const session = new FakeSession('nb.ipynb');
    tracker.setCurrent(session);
    session.model.apply({ type: 'cell', cell: cellPayload() });
    const notes = panel.node.querySelector('.jp-heapscope-Panel-notes')!;
    expect(notes.classList.contains('lm-mod-hidden')).toBe(true);
    const status = { ...statusPayload({ degraded: true }), warnings: ['<img src=x onerror=alert(1)>'] };
    session.model.apply({ type: 'status', status: status as ReturnType<typeof statusPayload> });
    expect(notes.classList.contains('lm-mod-hidden')).toBe(false);
    expect(Array.from(notes.querySelectorAll('li')).map(li => li.textContent)).toEqual([
      'The profiler ran out of bookkeeping memory: figures may be low.',
      'Kernel: <img src=x onerror=alert(1)>'
    ]);
    expect(notes.querySelector('img')).toBeNull();
    expect(panel.node.querySelector('.jp-heapscope-Panel-status.jp-mod-warning')).not.toBeNull();
    session.model.apply({ type: 'status', status: statusPayload() });
    expect(notes.classList.contains('lm-mod-hidden')).toBe(true);
  });

  describe('view tabs', () => {
    const tabs = () => {
      MessageLoop.flush();
      return Array.from(panel.node.querySelectorAll<HTMLElement>('.jp-heapscope-Panel-tab'));
    };
    const shown = () =>
      Array.from(panel.node.querySelectorAll('[role="tabpanel"]'))
        .filter(node => !node.classList.contains('lm-mod-hidden'))
        .map(node => node.id);

    beforeEach(() => {
      const session = new FakeSession('nb.ipynb');
      tracker.setCurrent(session);
      session.model.apply({ type: 'cell', cell: cellPayload() });
    });

    it('are a labelled tablist of tabs that name the panel they show', () => {
      const tablist = panel.node.querySelector('[role="tablist"]')!;
      expect(tablist.getAttribute('aria-label')).toBe('Heap views');
      expect(tabs().map(tab => [tab.dataset.view, tab.getAttribute('role'), tab.textContent])).toEqual([
        ['timeline', 'tab', 'Timeline'],
        ['cell', 'tab', 'Cell'],
        ['retained', 'tab', 'Retained'],
        ['holders', 'tab', 'Holders']
      ]);
      for (const tab of tabs()) {
        const controlled = panel.node.querySelector(`#${tab.getAttribute('aria-controls')}`)!;
        expect(controlled.getAttribute('role')).toBe('tabpanel');
        expect(controlled.getAttribute('aria-labelledby')).toBe(tab.id);
      }
      expect(tabs().map(tab => tab.getAttribute('aria-selected'))).toEqual(['true', 'false', 'false', 'false']);
      expect(tabs().map(tab => tab.tabIndex)).toEqual([0, -1, -1, -1]);
      expect(shown()).toEqual(['heapscope-panel-timeline']);
    });

    it('follow showView', () => {
      panel.showView('retained');
      expect(panel.view).toBe('retained');
      expect((tracker.current as FakeSession).requestRetained).toHaveBeenCalled();
      expect(shown()).toEqual(['heapscope-panel-retained']);
      expect(tabs().map(tab => tab.getAttribute('aria-selected'))).toEqual(['false', 'false', 'true', 'false']);
      panel.showView('cell');
      expect(shown()).toEqual(['heapscope-panel-cell']);
      panel.showView('holders');
      expect(shown()).toEqual(['heapscope-panel-holders']);
      expect(panel.holders.session).toBe(tracker.current);
    });

    it('move with the arrow keys, keeping the focus on the shown tab', () => {
      tabs()[0].focus();
      const key = (name: string) =>
        (document.activeElement as HTMLElement).dispatchEvent(
          new KeyboardEvent('keydown', { key: name, bubbles: true, cancelable: true })
        );
      key('ArrowRight');
      expect(panel.view).toBe('cell');
      expect(document.activeElement).toBe(tabs()[1]);
      key('ArrowRight');
      key('ArrowRight');
      key('ArrowRight');
      expect(panel.view).toBe('timeline');
      key('ArrowLeft');
      expect(panel.view).toBe('holders');
      key('Home');
      expect(panel.view).toBe('timeline');
      key('End');
      expect(shown()).toEqual(['heapscope-panel-holders']);
      expect(document.activeElement).toBe(tabs()[3]);
      expect(tabs()[3].tabIndex).toBe(0);
    });
  });
});
