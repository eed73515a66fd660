import { Widget } from '@lumino/widgets';
import { nullTranslator } from '@jupyterlab/translation';

import type { IFrame, ISite } from '../comm/protocol';
import { HeapModel } from '../model/model';
import { DEFAULT_SITE_FILTER, NO_SITE_FILTER } from '../sites/siteFilter';
import { cellPayload, sitePayload, statusPayload } from '../testing/fixtures';
import type { IHeapSession } from '../tracker/tokens';
import { CellDetailView } from './detail';

jest.mock('plotly.js-dist-min', () => ({
  __esModule: true,
  default: { react: jest.fn(() => Promise.resolve()), purge: jest.fn(), Plots: { resize: jest.fn() } }
}));

/** A site whose stack has no cell frame, innermost in `file`. */
function fileSite(file: string, bytes: number): ISite {
  const frame: IFrame = { file, line: 7, function: 'helper', cell_id: null, cell_line: null, execution_count: null };
  return sitePayload({ ...frame, bytes, count: 1, stack: [frame] });
}

describe('CellDetailView', () => {
  const start = 50_000_000;
  const added = 100_000_000;
  const big = sitePayload({ bytes: added * 0.8 });
  const helper = fileSite('/srv/root/work/helper.py', added * 0.15);
  const internal = fileSite('/venv/lib/python3.11/site-packages/zmq/sugar/socket.py', added * 0.03);
  const tiny = sitePayload({ bytes: Math.floor(added * DEFAULT_SITE_FILTER.minShare) - 1, line: 3, cell_line: 3 });
  const run = cellPayload({
    seq: 4,
    start_bytes: start,
    peak_bytes: start + added,
    end_bytes: start + added,
    top_at_peak: [big, helper, internal, tiny],
    retained: [big]
  });

  let filter = DEFAULT_SITE_FILTER;
  let view: CellDetailView;
  const navigated: IFrame[] = [];

  beforeEach(() => {
    filter = DEFAULT_SITE_FILTER;
    navigated.length = 0;
    const model = new HeapModel();
    model.apply({ type: 'history', status: statusPayload(), cells: [run], running: null });
    const session = { model, requestDetail: jest.fn(() => true) } as unknown as IHeapSession;
    view = new CellDetailView({
      navigate: (_, frame) => navigated.push(frame),
      // Only the helper under the server root opens; the zmq file is shown as text.
      canNavigate: () => frame => frame.cell_id !== null || frame.file.startsWith('/srv/root/'),
      filter: () => filter,
      lookup: () => () => undefined,
      limit: () => 200,
      trans: nullTranslator.load('heapscope')
    });
    Widget.attach(view, document.body);
    view.showRun(session, run.seq!);
  });

  afterEach(() => view.dispose());

  const peakList = () => view.node.querySelectorAll('.jp-heapscope-SiteList')[0] as HTMLElement;
  const visibleRows = () =>
    Array.from(peakList().querySelectorAll<HTMLElement>(':scope > .jp-heapscope-Site')).filter(li => !li.hidden);

  it('hides small and kernel-internal sites behind a keyboard-reachable toggle', () => {
    expect(visibleRows()).toHaveLength(2);
    const toggle = peakList().querySelector<HTMLButtonElement>('button.jp-heapscope-SiteList-toggle')!;
    expect(toggle).not.toBeNull();
    expect(toggle.type).toBe('button');
    expect(toggle.tabIndex).toBe(0);
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    expect(toggle.textContent).toContain('Show 2 hidden');

    toggle.click();
    expect(visibleRows()).toHaveLength(run.top_at_peak!.length);
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    expect(toggle.textContent).toContain('Hide 2 hidden');
    toggle.click();
    expect(visibleRows()).toHaveLength(2);
  });

  it('shows every site without a toggle when the filter hides nothing', () => {
    filter = NO_SITE_FILTER;
    view.refresh();
    expect(visibleRows()).toHaveLength(run.top_at_peak!.length);
    expect(peakList().querySelector('.jp-heapscope-SiteList-toggle')).toBeNull();
  });

  it('gives rows a jump button only where navigation is possible; a plain click jumps too', () => {
    filter = NO_SITE_FILTER;
    view.refresh();
    const mains = Array.from(
      peakList().querySelectorAll<HTMLElement>(':scope > li > .jp-heapscope-Site-row > .jp-heapscope-Site-main')
    );
    // The row's text stays selectable (no button around it); the place is the button.
    expect(mains.map(m => m.tagName)).toEqual(['DIV', 'DIV', 'DIV', 'DIV']);
    expect(mains.map(m => m.querySelector('.jp-heapscope-Site-location')!.tagName)).toEqual([
      'BUTTON',
      'BUTTON',
      'SPAN',
      'BUTTON'
    ]);
    expect(mains.map(m => m.classList.contains('jp-mod-navigable'))).toEqual([true, true, false, true]);
    mains[1].querySelector<HTMLButtonElement>('.jp-heapscope-Site-location')!.click();
    expect(navigated).toEqual([helper]);
    mains[1].querySelector<HTMLElement>('.jp-heapscope-Site-function')!.click();
    expect(navigated).toEqual([helper, helper]);
    mains[2].click();
    expect(navigated).toHaveLength(2);
  });
});
