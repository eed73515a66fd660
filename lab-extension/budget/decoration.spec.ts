import { Signal } from '@lumino/signaling';

import { CellBadge } from '../badges/badge';
import { HeapModel } from '../model/model';
import { cellPayload, message } from '../testing/fixtures';
import { parseKernelMessage } from '../comm/protocol';
import { decorateBadge, MENU_BUTTON_CLASS, OVER_BUDGET_CLASS } from './decoration';
import { ghostFromReport } from './ghost';
import { budgetState } from './state';

/** A cell as decorateBadge reads it: an id, metadata, and its change signal. */
function fakeCell(id: string, metadata: { [key: string]: unknown }) {
  const model = {
    id,
    metadataChanged: new Signal<unknown, { key: string }>({}),
    getMetadata: (key: string) => metadata[key]
  };
  return { model } as any;
}

function modelWith(...runs: ReturnType<typeof cellPayload>[]): HeapModel {
  const model = new HeapModel();
  for (const run of runs) {
    const parsed = parseKernelMessage(message('cell', { cell: run }));
    if (!parsed.ok) {
      throw new Error(parsed.error);
    }
    model.apply(parsed.message);
  }
  return model;
}

describe('the budget in a badge', () => {
  const run = cellPayload({ seq: 1, cell_id: 'a', start_bytes: 0, peak_bytes: 60_000_000, end_bytes: 0 });

  function draw(metadata: { [key: string]: unknown }, model = modelWith(run), notebook: any = { widgets: [] }) {
    const badge = new CellBadge({ cellId: 'a', onActivate: () => undefined });
    badge.setRun(run, [run], 'normal', null);
    const cell = fakeCell('a', metadata);
    decorateBadge(badge, cell, run, model, notebook);
    return { badge, cell, model };
  }

  afterEach(() => {
    budgetState.commands = null;
  });

  it('shows the budget after the figures and in the tooltip', () => {
    const { badge } = draw({ heapscope: { max_peak: '100 MB' } });
    expect(badge.node.textContent).toBe('+0 B · peak +60 MB · budget 100 MB');
    expect(badge.node.title).toContain('Budget: peak +100 MB (cell metadata “heapscope”).');
    expect(badge.hasClass(OVER_BUDGET_CLASS)).toBe(false);
  });

  it('turns red with the reason in words when the run broke it, and keeps it when the figures are redrawn', () => {
    const { badge } = draw({ heapscope: { max_peak: '36 MB' } });
    expect(badge.hasClass(OVER_BUDGET_CLASS)).toBe(true);
    expect(badge.node.dataset.overBudget).toBe('max_peak');
    expect(badge.node.textContent).toBe('+0 B · peak +60 MB · over budget: peak +60 MB > budget 36 MB');
    expect(badge.node.title).toContain('Over budget: peak +60 MB > budget 36 MB.');
    const next = cellPayload({ seq: 2, cell_id: 'a', start_bytes: 0, peak_bytes: 70_000_000, end_bytes: 0 });
    badge.setRun(next, [run, next], 'normal', null);
    // The figures changed; the decoration is still there until it is drawn again.
    expect(badge.node.textContent).toContain('over budget');
  });

  it('says when the metadata cannot be read', () => {
    const { badge } = draw({ heapscope: { max_peak: '2 gigs' } });
    expect(badge.node.textContent).toContain('budget unreadable');
    expect(badge.node.title).toContain('heapscope.max_peak: not a size: "2 gigs"');
  });

  it('has a keyboard-reachable menu button once the commands are known', () => {
    budgetState.commands = {} as any;
    const { badge } = draw({});
    const button = badge.node.querySelector(`.${MENU_BUTTON_CLASS}`) as HTMLButtonElement;
    expect(button.tagName).toBe('BUTTON');
    expect(button.getAttribute('aria-haspopup')).toBe('menu');
    expect(button.getAttribute('aria-label')).toBe('Memory budget and comparison menu');
    // No text of its own (the glyph is CSS): the badge's text is still its figures.
    expect(badge.node.textContent).toBe('+0 B · peak +60 MB');
  });

  it('adds the Δ against the ghost to the tooltip', () => {
    const model = modelWith(run);
    const notebook: any = { widgets: [fakeCell('a', {})], isDisposed: false };
    const ghost = ghostFromReport(
      { cells: [{ ...cellPayload({ cell_id: 'a', start_bytes: 0, peak_bytes: 50_000_000, end_bytes: 0 }), index: 0 }] },
      'nb.heap.json'
    );
    budgetState.setGhost(notebook, model, ghost);
    try {
      const { badge } = draw({}, model, notebook);
      expect(badge.node.title).toContain('peak +10 MB vs saved (+20.0 %): +50 MB → +60 MB');
      expect(badge.node.title).not.toContain('[edited]');
    } finally {
      budgetState.setGhost(notebook, model, null);
    }
  });
});
