/**
 * The holders in the exported report: built into the JSON, packed into the page and drawn by the
 * viewer (the page `heapscope report --html` writes is the same).
 */
import { Signal } from '@lumino/signaling';

import type { HeapConnection } from '../comm/connection';
import type { BrowserRequest } from '../comm/protocol';
import { checkReport, parseKernelMessage } from '../comm/protocol';
import { HeapModel } from '../model/model';
import { packReport, unpackReport } from './html';
import { buildReport, IReport } from './report';
import { renderReport } from './viewer';
import { cellPayload, message, PAYLOADS, sitePayload, statusPayload } from '../testing/fixtures';
import { holder, holdersPayload } from '../testing/holders';
import type { IHeapSession } from '../tracker/tokens';
import { scanHolders } from '../holders/scan';

function report(holders: Parameters<typeof buildReport>[0]['holders']): IReport {
  return buildReport({
    path: 'demo.ipynb',
    kernelName: 'heapscope',
    status: statusPayload(),
    cells: [
      cellPayload({ seq: 1, cell_id: 'c1', execution_count: 1, source: 'a = np.ones(10_000_000)' }),
      cellPayload({ seq: 2, cell_id: 'c3', execution_count: 3, source: 'v = a[::2]' }),
      cellPayload({ seq: 3, cell_id: 'c4', execution_count: 4, source: 'np.zeros(12_500_000)' })
    ],
    retainedByCell: null,
    cellIds: ['c1', 'c3', 'c4'],
    holders,
    version: '0.1.0',
    now: 1764150001
  });
}

describe('the report’s holders', () => {
  it('are in the JSON the extension exports, valid against the report schema', () => {
    const withHolders = report(holdersPayload());
    expect(withHolders.holders?.holders).toHaveLength(7);
    expect(checkReport(withHolders)).toBeNull();
    expect(checkReport(report(null))).toBeNull();
    expect('holders' in report(undefined)).toBe(false);
  });

  it('pack their sites with the rest and unpack to the same report', () => {
    const source = report(holdersPayload());
    const packed = packReport(source) as { holders: { holders: { sites: { stack: unknown[] }[] }[] } };
    const a = packed.holders.holders.find(h => (h as unknown as { name: string }).name === 'a')!;
    expect(a.sites[0].stack).toEqual([expect.any(Number)]);
    expect(unpackReport(JSON.parse(JSON.stringify(packed)))).toEqual(JSON.parse(JSON.stringify(source)));
    // null and absent pass through
    expect((unpackReport(packReport(report(null))) as IReport).holders).toBeNull();
  });
});

describe('the viewer’s Holders section', () => {
  const render = (r: IReport) => {
    const root = document.createElement('main');
    document.body.appendChild(root);
    renderReport(root, r, null);
    return root;
  };

  it('lists the holders by what deleting frees, sites collapsed, shared memory in words', () => {
    const root = render(report(holdersPayload()));
    const section = root.querySelector('#hs-holders')!;
    expect(section.querySelector('h2')!.textContent).toBe('Who holds the memory at the end');
    expect(section.textContent).toContain('a and v share 80 MB; deleting both frees it.');
    const names = Array.from(section.querySelectorAll<HTMLElement>('.jp-heapscope-Holder')).map(n => n.dataset.name);
    expect(names[0]).toBe('last traceback');
    expect(names[names.length - 1]).toBe('not reachable from your names');
    expect(section.querySelector('[data-sort="bytes"]')!.getAttribute('aria-sort')).toBe('descending');
    // collapsed: no site list until a row is opened; no release in a report
    expect(section.querySelector('.jp-heapscope-SiteTable')).toBeNull();
    expect(section.querySelector('.jp-heapscope-Holder-release')).toBeNull();
    const a = section.querySelector<HTMLElement>('.jp-heapscope-Holder[data-name="a"]')!;
    a.querySelector<HTMLButtonElement>('.jp-heapscope-Toggle')!.click();
    expect(a.querySelectorAll('.jp-heapscope-Site')).toHaveLength(1);
    root.remove();
  });

  it('jumps from a holder to its cell’s section', () => {
    const root = render(report(holdersPayload()));
    const scrolled: Element[] = [];
    Element.prototype.scrollIntoView = function (this: Element) {
      scrolled.push(this);
    };
    root.querySelector<HTMLButtonElement>('.jp-heapscope-Holder[data-name="v"] .jp-heapscope-Holder-jump')!.click();
    const opened = root.querySelector<HTMLDetailsElement>('details.hs-cell[open]')!;
    expect(opened.id).toBe('hs-cell-1');
    expect(scrolled).toEqual([opened]);
    // A holder whose cell is not in the report: text only.
    expect(root.querySelector('.jp-heapscope-Holder[data-name="Zed"] .jp-heapscope-Holder-jump')).toBeNull();
    root.remove();
  });

  it('renders hostile names and types as text', () => {
    const payload = holdersPayload();
    const root = render(
      report({
        ...payload,
        holders: PAYLOADS.map(p => holder({ name: p, type: p, sites: [sitePayload({ function: p })] })),
        shared: [{ names: [PAYLOADS[0], PAYLOADS[1]], bytes: 5e6 }]
      })
    );
    for (const toggle of Array.from(
      root.querySelectorAll<HTMLButtonElement>('.jp-heapscope-Holder .jp-heapscope-Toggle')
    )) {
      toggle.click();
    }
    expect(root.querySelectorAll('img, script, iframe')).toHaveLength(0);
    expect(root.querySelector('#hs-holders')!.textContent).toContain(PAYLOADS[0]);
    root.remove();
  });

  it('says when the scan could not run, and is absent when not asked', () => {
    const failed = render(report(null));
    expect(failed.querySelector('#hs-holders')!.textContent).toContain('the holders scan could not run');
    failed.remove();
    const absent = render(report(undefined));
    expect(absent.querySelector('#hs-holders')).toBeNull();
    absent.remove();
  });
});

describe('scanHolders', () => {
  class FakeSession {
    state: HeapConnection.State = 'connected';
    model = new HeapModel();
    sent: BrowserRequest[] = [];
    stateChanged = new Signal<this, HeapConnection.State>(this);
    send(request: BrowserRequest): boolean {
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

  it('asks the kernel and resolves with its answer', async () => {
    const session = new FakeSession();
    const done = scanHolders(session as unknown as IHeapSession, 1000);
    expect(session.sent).toEqual([{ type: 'holders' }]);
    expect(session.model.holders.phase).toBe('scanning');
    session.receive('holders', { holders: holdersPayload() });
    expect((await done)?.holders).toHaveLength(7);
  });

  it('joins a scan that runs, resolves null on a reason and undefined on a timeout or without kernel', async () => {
    const session = new FakeSession();
    session.model.holders.begin();
    const done = scanHolders(session as unknown as IHeapSession, 1000);
    expect(session.sent).toEqual([]);
    session.receive('holders', { holders: null, reason: 'a cell is running' });
    expect(await done).toBeNull();
    expect(await scanHolders(session as unknown as IHeapSession, 10)).toBeUndefined();
    session.state = 'not-heapscope';
    session.model.holders.clear();
    expect(await scanHolders(session as unknown as IHeapSession, 1000)).toBeUndefined();
  });
});
