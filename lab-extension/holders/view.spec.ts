import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import type { HeapConnection } from '../comm/connection';
import type { BrowserRequest } from '../comm/protocol';
import { parseKernelMessage } from '../comm/protocol';
import { HeapModel } from '../model/model';
import { DEFAULT_SITE_FILTER } from '../sites/siteFilter';
import { cellPayload, message, statusPayload } from '../testing/fixtures';
import { holdersPayload } from '../testing/holders';
import type { IHeapSession } from '../tracker/tokens';
import { HoldersView } from './view';

/** A session that records what it sends. */
class FakeSession {
  state: HeapConnection.State = 'connected';
  model = new HeapModel();
  sent: BrowserRequest[] = [];
  stateChanged = new Signal<this, HeapConnection.State>(this);
  sessionContext = { kernelDisplayName: 'Python 3 (ipykernel)' };
  send(request: BrowserRequest): boolean {
    if (this.state !== 'connected') {
      return false;
    }
    this.sent.push(request);
    return true;
  }
  receive(type: string, body: { [key: string]: unknown }): void {
    const result = parseKernelMessage(message(type, body));
    if (!result.ok) {
      throw new Error(result.error);
    }
    this.model.apply(result.message);
  }
}

describe('HoldersView', () => {
  let session: FakeSession;
  let view: HoldersView;
  let answers: boolean[];
  let asked: string[];
  const navigated: unknown[] = [];

  beforeEach(() => {
    session = new FakeSession();
    answers = [];
    asked = [];
    navigated.length = 0;
    view = new HoldersView({
      navigate: (_, frame) => navigated.push(frame),
      canNavigate: () => () => true,
      filter: () => DEFAULT_SITE_FILTER,
      lookup: () => () => undefined,
      trans: nullTranslator.load('heapscope'),
      confirm: async (title: string) => {
        asked.push(title);
        return answers.shift() ?? false;
      }
    });
    Widget.attach(view, document.body);
    view.session = session as unknown as IHeapSession;
  });

  afterEach(() => view.dispose());

  const status = () => view.node.querySelector('.jp-heapscope-HoldersView-status')!.textContent;
  const released = () => view.node.querySelector<HTMLElement>('.jp-heapscope-HoldersView-released')!;
  const rows = () =>
    Array.from(view.node.querySelectorAll<HTMLElement>('.jp-heapscope-Holder')).map(row => row.dataset.name);

  it('says what it does before the first scan', () => {
    expect(status()).toMatch(/keep memory alive/);
    expect(view.node.querySelector('.jp-heapscope-HoldersView-scan')!.textContent).toBe('Find who holds memory');
  });

  it('asks the kernel, shows its progress without blocking, then the table', () => {
    view.node.querySelector<HTMLButtonElement>('.jp-heapscope-HoldersView-scan')!.click();
    expect(session.sent).toEqual([{ type: 'holders' }]);
    expect(status()).toBe('Asking the kernel who holds the memory…');
    expect(view.node.getAttribute('aria-busy')).toBe('true');
    // A second press while it scans sends nothing more…
    expect(view.scan()).toBe(true);
    expect(session.sent).toHaveLength(1);
    // …unless the answer is long overdue (lost with a reopened comm).
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + HoldersView.RESCAN_MS + 1);
    expect(view.scan()).toBe(true);
    expect(session.sent).toEqual([{ type: 'holders' }, { type: 'holders' }]);
    clock.mockRestore();
    session.receive('holders_progress', { phase: 'sizes', done: 3, total: 4 });
    expect(status()).toBe('Measuring objects… 3 of 4');
    const progress = view.node.querySelector<HTMLProgressElement>('.jp-heapscope-HoldersView-progress')!;
    expect(progress.hidden).toBe(false);
    expect(progress.value).toBe(0.75);
    session.receive('holders', { holders: holdersPayload() });
    expect(progress.hidden).toBe(true);
    expect(view.node.getAttribute('aria-busy')).toBe('false');
    expect(status()).toMatch(/^6 holders · 420 MB held by your names/);
    expect(rows()[0]).toBe('last traceback');
    expect(view.node.querySelector('.jp-heapscope-Holders-shared')!.textContent).toBe(
      'a and v share 80 MB; deleting both frees it.'
    );
    expect(view.node.querySelector('.jp-heapscope-HoldersView-scan')!.textContent).toBe('Scan again');
  });

  it('keeps the order and the expanded rows when the answer is drawn again', () => {
    view.scan();
    session.receive('holders', { holders: holdersPayload() });
    view.node.querySelector<HTMLButtonElement>('[data-sort="name"] button')!.click();
    view.node.querySelector<HTMLButtonElement>('.jp-heapscope-Holder[data-name="a"] .jp-heapscope-Toggle')!.click();
    view.scan();
    session.receive('holders', { holders: holdersPayload() });
    expect(rows()[0]).toBe('a');
    expect(
      view.node.querySelector('.jp-heapscope-Holder[data-name="a"] .jp-heapscope-Toggle')!.getAttribute('aria-expanded')
    ).toBe('true');
  });

  it('says why there is no list: the kernel’s reason, or no heapscope kernel', () => {
    view.scan();
    session.receive('holders', { holders: null, reason: 'a cell is running: ask again when it has finished' });
    expect(status()).toBe('No holders list: a cell is running: ask again when it has finished');
    expect(view.node.querySelector('.jp-heapscope-HoldersView-status.jp-mod-warning')).not.toBeNull();
    session.state = 'not-heapscope';
    expect(view.scan()).toBe(false);
    expect(status()).toBe(
      'No holders list: The kernel “Python 3 (ipykernel)” does not run heapscope: it cannot say who holds memory.'
    );
    session.state = 'reconnecting';
    expect(view.scan()).toBe(false);
    expect(status()).toBe('No holders list: Reconnecting to the kernel: try again in a moment.');
  });

  it('says when cells ran since the scan', () => {
    session.receive('cell', { cell: cellPayload({ ended_at: 1764150000.3 }) });
    view.scan();
    session.receive('holders', { holders: holdersPayload() });
    expect(status()).not.toMatch(/cells ran since/);
    session.receive('cell', { cell: cellPayload({ seq: 9, ended_at: 1764150009 }) });
    expect(status()).toMatch(/cells ran since: scan again to update$/);
  });

  it('releases an output only after the user agreed, then asks for a fresh status and scans again', async () => {
    session.receive('status', { status: statusPayload({ current_bytes: 300_000_000 }) });
    view.scan();
    session.receive('holders', { holders: holdersPayload() });
    const release = () =>
      view.node.querySelector<HTMLButtonElement>(
        '.jp-heapscope-Holder[data-name="Out[4]"] .jp-heapscope-Holder-release'
      )!;

    // Cancelled: nothing is sent.
    answers.push(false);
    release().click();
    await Promise.resolve();
    await Promise.resolve();
    expect(asked).toEqual(['Release Out[4]?']);
    expect(session.sent).toEqual([{ type: 'holders' }]);

    answers.push(true);
    release().click();
    await Promise.resolve();
    await Promise.resolve();
    expect(session.sent.slice(1)).toEqual([{ type: 'release_holder', name: 'Out[4]' }]);
    expect(released().textContent).toBe('Releasing Out[4]…');

    session.receive('holder_released', { name: 'Out[4]', released: true });
    // Scan first (it collects cyclic garbage), then the fresh status.
    expect(session.sent.slice(2)).toEqual([{ type: 'holders' }]);
    expect(released().textContent).toBe('Released Out[4].');
    // A status that comes before the scan's answer (another cell's) is not the one asked for.
    session.receive('status', { status: statusPayload({ current_bytes: 300_000_000 }) });
    expect(released().textContent).toBe('Released Out[4].');
    session.receive('holders', { holders: holdersPayload() });
    expect(session.sent.slice(3)).toEqual([{ type: 'configure' }]);
    session.receive('status', { status: statusPayload({ current_bytes: 200_000_000 }) });
    expect(released().textContent).toBe('Released Out[4]: the heap went from 300 MB to 200 MB.');
    expect(released().hidden).toBe(false);
  });

  it('says when the kernel did not release', async () => {
    view.scan();
    session.receive('holders', { holders: holdersPayload() });
    answers.push(true);
    await view.release(holdersPayload().holders[0]);
    session.receive('holder_released', { name: 'Out[4]', released: false });
    expect(released().textContent).toMatch(/did not release Out\[4\]/);
    // No status asked, no new scan.
    expect(session.sent.map(r => r.type)).toEqual(['holders', 'release_holder']);
  });

  it('jumps to the cell that bound a name', () => {
    view.scan();
    session.receive('holders', { holders: holdersPayload() });
    view.node
      .querySelector<HTMLButtonElement>('.jp-heapscope-Holder[data-name="v"] .jp-heapscope-Holder-jump')!
      .click();
    expect(navigated).toEqual([
      { file: '', line: null, function: 'v', cell_id: 'c3', cell_line: 1, execution_count: 3 }
    ]);
  });

  it('forgets the list when the kernel restarts', () => {
    view.scan();
    session.receive('holders', { holders: holdersPayload() });
    session.model.clear();
    expect(rows()).toEqual([]);
    expect(status()).toMatch(/keep memory alive/);
  });

  it('follows the session', () => {
    view.session = null;
    expect(status()).toBe('Open a notebook to see who holds its memory.');
    expect(view.scan()).toBe(false);
  });
});
