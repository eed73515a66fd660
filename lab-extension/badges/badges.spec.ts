import { Notebook, NotebookModel, StaticNotebook } from '@jupyterlab/notebook';
import { NBTestUtils } from '@jupyterlab/notebook/lib/testutils';
import { Widget } from '@lumino/widgets';

import { badgeText, badgeTooltip, runningText } from './badge';
import { NotebookBadges, persistedSummary } from './notebookBadges';
import { BadgeSettings, badgeLevel, DEFAULT_THRESHOLDS, readThresholds } from './thresholds';
import { HeapModel } from '../model/model';
import { cellPayload, cellStartPayload, statusPayload } from '../testing/fixtures';

describe('badgeText', () => {
  it('shows the net change and the peak added, signed, in decimal units', () => {
    expect(badgeText(cellPayload())).toBe('+200 MB · peak +200 MB');
    const freed = cellPayload({ start_bytes: 252_428_800, peak_bytes: 252_430_000, end_bytes: 52_428_800 });
    expect(badgeText(freed)).toBe('-200 MB · peak +1.2 kB');
    const nothing = cellPayload({ start_bytes: 7, peak_bytes: 7, end_bytes: 7 });
    expect(badgeText(nothing)).toBe('+0 B · peak +0 B');
  });
});

describe('badgeTooltip', () => {
  it('lists the last runs, newest first, with their figures and how they ended', () => {
    expect(badgeTooltip([cellPayload()])).toBe(
      '[3] net +200 MB, peak +200 MB (heap 52.4 MB → 252 MB → 252 MB)\n' +
        'Click for where the memory was allocated.\n1 MB = 1,000,000 bytes'
    );
    const runs = [
      cellPayload({ execution_count: 1 }),
      cellPayload({ execution_count: 2, status: 'error' }),
      cellPayload({ execution_count: 3, start_bytes: 0, peak_bytes: 10, end_bytes: 0 })
    ];
    expect(badgeTooltip(runs, 2).split('\n')).toEqual([
      '[3] net +0 B, peak +10 B (heap 0 B → 10 B → 0 B)',
      '[2] net +200 MB, peak +200 MB (heap 52.4 MB → 252 MB → 252 MB), raised an error',
      '… 1 earlier runs',
      'Click for where the memory was allocated.',
      '1 MB = 1,000,000 bytes'
    ]);
  });
});

describe('runningText', () => {
  it('shows the live net change and peak of a running cell', () => {
    const start = cellStartPayload({ start_bytes: 1_000_000 });
    expect(runningText(start, [])).toBe('running…');
    expect(
      runningText(start, [
        [1, 301_000_000],
        [2, 121_000_000]
      ])
    ).toBe('running · +120 MB · peak +300 MB');
  });
});

describe('thresholds', () => {
  it('grades the peak added against the thresholds', () => {
    const t = { warnBytes: 100, criticalBytes: 1000 };
    const added = (n: number) => cellPayload({ start_bytes: 10, peak_bytes: 10 + n, end_bytes: 10 });
    expect(badgeLevel(added(99), t)).toBe('normal');
    expect(badgeLevel(added(100), t)).toBe('warn');
    expect(badgeLevel(added(1000), t)).toBe('critical');
    expect(badgeLevel(added(5000), { warnBytes: 0, criticalBytes: 0 })).toBe('normal');
  });

  it('reads settings, falling back to the defaults for bad values', () => {
    expect(readThresholds({ warnBytes: 5, criticalBytes: 50 })).toEqual({ warnBytes: 5, criticalBytes: 50 });
    expect(readThresholds({ warnBytes: -1, criticalBytes: 'x' })).toEqual(DEFAULT_THRESHOLDS);
    expect(readThresholds({})).toEqual(DEFAULT_THRESHOLDS);
  });

  it('announces only real changes', () => {
    const settings = new BadgeSettings();
    const seen: number[] = [];
    settings.changed.connect((_, t) => seen.push(t.warnBytes));
    settings.thresholds = { ...DEFAULT_THRESHOLDS };
    settings.thresholds = { ...DEFAULT_THRESHOLDS, warnBytes: 1 };
    expect(seen).toEqual([1]);
  });
});

describe('NotebookBadges', () => {
  /** A notebook with code cells a, b, d and a markdown cell c, attached to the page. */
  function createNotebook(windowingMode: 'none' | 'full'): Notebook {
    const notebook = new Notebook({
      rendermime: NBTestUtils.defaultRenderMime(),
      contentFactory: NBTestUtils.createNotebookFactory(),
      mimeTypeService: NBTestUtils.mimeTypeService,
      notebookConfig: { ...StaticNotebook.defaultNotebookConfig, windowingMode }
    });
    const model = new NotebookModel();
    const code = (id: string, source: string) => ({
      cell_type: 'code',
      id,
      source,
      metadata: {},
      outputs: [],
      execution_count: null
    });
    model.fromJSON({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        code('a', 'x = 1'),
        code('b', 'y = 2'),
        { cell_type: 'markdown', id: 'c', source: '# title', metadata: {} },
        code('d', 'z = 3')
      ]
    });
    notebook.model = model;
    Widget.attach(notebook, document.body);
    return notebook;
  }

  /** Let cell.ready promises and Lumino messages run. */
  async function settle(ms = 0): Promise<void> {
    if (ms > 0) {
      await new Promise(resolve => setTimeout(resolve, ms));
    }
    // Badges are drawn on the next animation frame.
    for (let i = 0; i < 5; i++) {
      await new Promise(resolve => setTimeout(resolve, 20));
    }
  }

  /** The badges in the page, by cell id. */
  function badgesIn(notebook: Notebook): { [id: string]: string } {
    const result: { [id: string]: string } = {};
    notebook.node.querySelectorAll('.jp-heapscope-badge').forEach(node => {
      result[(node as HTMLElement).dataset.cellId!] = node.textContent!;
    });
    return result;
  }

  let notebook: Notebook;
  let heap: HeapModel;
  let badges: NotebookBadges;
  let warn: jest.SpyInstance;

  beforeEach(() => {
    // @jupyter/ydoc builds cells before adding them to their document, which this yjs reports.
    const original = console.warn;
    const yjsNoise = /^(Invalid access: Add Yjs type to a document|\[yjs#509\] Not same Y\.Doc)/;
    warn = jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      if (!yjsNoise.test(String(args[0]))) {
        original(...args);
      }
    });
  });

  afterEach(() => {
    badges.dispose();
    notebook.dispose();
    warn.mockRestore();
  });

  it('puts a badge inside each code cell that has a finished run', async () => {
    notebook = createNotebook('none');
    heap = new HeapModel();
    badges = new NotebookBadges({ notebook, model: heap, settings: new BadgeSettings() });
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a' }) });
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'c', started_at: 5 }) });
    await settle();
    expect(badgesIn(notebook)).toEqual({ a: '+200 MB · peak +200 MB' });
    const badge = notebook.node.querySelector('.jp-heapscope-badge')!;
    expect(badge.closest('.jp-Cell')).toBe(notebook.widgets[0].node);
  });

  it('updates the badge on a re-run and marks the running cell', async () => {
    notebook = createNotebook('none');
    heap = new HeapModel();
    badges = new NotebookBadges({ notebook, model: heap, settings: new BadgeSettings() });
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a', started_at: 1 }) });
    await settle();
    heap.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'a', started_at: 2 }) });
    await settle();
    const badge = notebook.node.querySelector('.jp-heapscope-badge')!;
    expect(badge.classList.contains('jp-mod-running')).toBe(true);
    heap.apply({
      type: 'cell',
      cell: cellPayload({ cell_id: 'a', started_at: 2, start_bytes: 0, peak_bytes: 10, end_bytes: 0 })
    });
    await settle();
    expect(badgesIn(notebook)).toEqual({ a: '+0 B · peak +10 B' });
    expect(badge.classList.contains('jp-mod-running')).toBe(false);
    expect(notebook.node.querySelectorAll('.jp-heapscope-badge')).toHaveLength(1);
  });

  it('rebuilds every badge from a history and removes them on clear', async () => {
    notebook = createNotebook('none');
    heap = new HeapModel();
    badges = new NotebookBadges({ notebook, model: heap, settings: new BadgeSettings() });
    heap.apply({
      type: 'history',
      status: statusPayload(),
      cells: [cellPayload({ cell_id: 'b', started_at: 1 }), cellPayload({ cell_id: 'd', started_at: 2 })],
      running: null
    });
    await settle();
    expect(Object.keys(badgesIn(notebook)).sort()).toEqual(['b', 'd']);
    heap.clear();
    expect(badgesIn(notebook)).toEqual({});
  });

  it('says error or interrupted in words with an icon, and never calls an interrupt an error', async () => {
    notebook = createNotebook('none');
    heap = new HeapModel();
    badges = new NotebookBadges({ notebook, model: heap, settings: new BadgeSettings() });
    // Cell b was interrupted: its error output is a KeyboardInterrupt (protocol 2 says `error`).
    const b = notebook.widgets[1].model as any;
    b.outputs.add({ output_type: 'error', ename: 'KeyboardInterrupt', evalue: '', traceback: [] });
    const d = notebook.widgets[3].model as any;
    d.outputs.add({ output_type: 'error', ename: 'ZeroDivisionError', evalue: 'division by zero', traceback: [] });
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a', seq: 1 }) });
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'b', seq: 2, status: 'error' }) });
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'd', seq: 3, status: 'error' }) });
    await settle();
    expect(badgesIn(notebook)).toEqual({
      a: '+200 MB · peak +200 MB',
      b: '+200 MB · peak +200 MB · interrupted',
      d: '+200 MB · peak +200 MB · error'
    });
    const node = (id: string) =>
      notebook.node.querySelector(`.jp-heapscope-badge[data-cell-id="${id}"]`) as HTMLElement;
    expect(node('b').dataset.outcome).toBe('interrupted');
    expect(node('b').classList.contains('jp-mod-interrupted')).toBe(true);
    expect(node('b').classList.contains('jp-mod-error')).toBe(false);
    expect(node('b').title).toContain(', interrupted');
    expect(node('b').title).not.toContain('error');
    expect(node('d').dataset.outcome).toBe('error');
    expect(node('d').classList.contains('jp-mod-error')).toBe(true);
    expect(node('d').title).toContain('raised an error');
    // An icon beside each word, hidden from screen readers (the word says it).
    for (const id of ['b', 'd']) {
      const icon = node(id).querySelector('.jp-heapscope-badge-outcome svg')!;
      expect(icon).not.toBeNull();
      expect(icon.closest('[aria-hidden="true"]')).not.toBeNull();
    }
    expect(node('a').querySelector('.jp-heapscope-badge-outcome')).toBeNull();
    // A kernel that says `interrupted` itself is understood too.
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a', seq: 4, status: 'interrupted' as any }) });
    await settle();
    expect(node('a').textContent).toBe('+200 MB · peak +200 MB · interrupted');
  });

  it('updates only the badge of the cell a message is about', async () => {
    notebook = createNotebook('none');
    heap = new HeapModel();
    badges = new NotebookBadges({ notebook, model: heap, settings: new BadgeSettings() });
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a', seq: 1 }) });
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'b', seq: 2 }) });
    await settle();
    const a = notebook.node.querySelector('.jp-heapscope-badge[data-cell-id="a"]')!;
    const writes: MutationRecord[] = [];
    const observer = new MutationObserver(records => writes.push(...records));
    observer.observe(a, { childList: true, attributes: true, characterData: true, subtree: true });
    heap.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'd', seq: 3 }) });
    heap.apply({ type: 'ticks', seq: 3, ticks: [[1, 60_000_000]] });
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'd', seq: 3 }) });
    await settle();
    observer.disconnect();
    expect(writes).toEqual([]);
    expect(Object.keys(badgesIn(notebook)).sort()).toEqual(['a', 'b', 'd']);
  });

  it('gives a first run its live badge only if it runs a while', async () => {
    notebook = createNotebook('none');
    heap = new HeapModel();
    // A short cell: no badge until it ends.
    badges = new NotebookBadges({ notebook, model: heap, settings: new BadgeSettings(), runningBadgeDelay: 600_000 });
    heap.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'a', seq: 1 }) });
    await settle();
    expect(badgesIn(notebook)).toEqual({});
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a', seq: 1 }) });
    await settle();
    expect(badgesIn(notebook)).toEqual({ a: '+200 MB · peak +200 MB' });
    badges.dispose();
    // A long one: a live badge once the delay is over.
    badges = new NotebookBadges({ notebook, model: heap, settings: new BadgeSettings(), runningBadgeDelay: 0 });
    heap.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'b', seq: 2 }) });
    await settle();
    expect(badgesIn(notebook)).toEqual({ a: '+200 MB · peak +200 MB', b: 'running…' });
  });

  it('shows existing runs for a notebook opened later', async () => {
    notebook = createNotebook('none');
    heap = new HeapModel();
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'd' }) });
    badges = new NotebookBadges({ notebook, model: heap, settings: new BadgeSettings() });
    await settle();
    expect(Object.keys(badgesIn(notebook))).toEqual(['d']);
  });

  it('gives a cell added to the notebook its badge', async () => {
    notebook = createNotebook('none');
    heap = new HeapModel();
    badges = new NotebookBadges({ notebook, model: heap, settings: new BadgeSettings() });
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'new' }) });
    notebook.model!.sharedModel.insertCell(0, { cell_type: 'code', id: 'new', source: 'w = 0' });
    await settle();
    expect(Object.keys(badgesIn(notebook))).toEqual(['new']);
    expect(notebook.widgets[0].node.querySelector('.jp-heapscope-badge')).not.toBeNull();
  });

  it('colours badges by the thresholds and follows their changes', async () => {
    notebook = createNotebook('none');
    heap = new HeapModel();
    const settings = new BadgeSettings();
    badges = new NotebookBadges({ notebook, model: heap, settings });
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a' }) });
    await settle();
    const badge = notebook.node.querySelector('.jp-heapscope-badge')!;
    expect(badge.classList.contains('jp-mod-warn')).toBe(true);
    settings.thresholds = { warnBytes: 0, criticalBytes: 150_000_000 };
    expect(badge.classList.contains('jp-mod-warn')).toBe(false);
    expect(badge.classList.contains('jp-mod-critical')).toBe(true);
  });

  it('attaches the badge of a windowed-out cell only once the cell is rendered', async () => {
    notebook = createNotebook('full');
    heap = new HeapModel();
    badges = new NotebookBadges({ notebook, model: heap, settings: new BadgeSettings() });
    // Right after attaching, a windowed notebook has not rendered its cells yet.
    const index = notebook.widgets.findIndex(cell => cell.isPlaceholder());
    expect(index).toBeGreaterThanOrEqual(0);
    const cell = notebook.widgets[index];
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: cell.model.id }) });
    expect(cell.node.querySelector('.jp-heapscope-badge')).toBeNull();

    await settle();
    if (cell.isPlaceholder()) {
      notebook.renderCellOutputs(index);
      await settle();
    }
    const badge = cell.node.querySelector('.jp-heapscope-badge');
    expect(badge?.textContent).toBe('+200 MB · peak +200 MB');
    // The badge comes after the cell's own parts, i.e. under the cell.
    expect(cell.node.lastElementChild).toBe(badge);
    // Let the windowed notebook finish its deferred work before it is disposed.
    await new Promise(resolve => requestAnimationFrame(resolve));
    await settle();
  });

  it('removes its badges on dispose, idempotently', async () => {
    notebook = createNotebook('none');
    heap = new HeapModel();
    badges = new NotebookBadges({ notebook, model: heap, settings: new BadgeSettings() });
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'a' }) });
    await settle();
    badges.dispose();
    badges.dispose();
    expect(badgesIn(notebook)).toEqual({});
    heap.apply({ type: 'cell', cell: cellPayload({ cell_id: 'b', started_at: 9 }) });
    await settle();
    expect(badgesIn(notebook)).toEqual({});
  });
});

describe('persistedSummary', () => {
  it('summarises a run for the cell metadata', () => {
    expect(persistedSummary(cellPayload())).toEqual({
      execution_count: 3,
      net_bytes: 200_000_000,
      peak_added_bytes: 200_000_000,
      start_bytes: 52_428_800,
      peak_bytes: 252_428_800,
      end_bytes: 252_428_800,
      status: 'ok'
    });
  });
});
