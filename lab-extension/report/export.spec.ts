import * as crypto from 'crypto';

import type { ICellRun, ISite } from '../comm/protocol';
import { HeapModel } from '../model/model';
import { cellPayload, sitePayload, statusPayload } from '../testing/fixtures';
import type { IHeapSession } from '../tracker/tokens';
import { exportReport, fetchCellDetails } from './export';
import { REPORT_DATA_ID, unpackReport } from './html';
import { buildReportTemplate } from './page';
import { IReport } from './report';
import { renderReport } from './viewer';

const sha256 = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest('base64');
const TEMPLATE = buildReportTemplate(
  { version: '0.1.0', plotly: 'window.Plotly = {};', viewer: 'void 0;', css: 'body{}' },
  sha256
);

/** A site of cell `id`'s line `line`, in function `fn`, with a stack. */
function site(id: string, count: number, line: number, fn: string, bytes: number): ISite {
  const frame = {
    file: `/tmp/ipykernel_1/${id}.py`,
    line,
    function: fn,
    cell_id: id,
    cell_line: line,
    execution_count: count
  };
  return sitePayload({ ...frame, bytes, stack: [frame] });
}

/**
 * A kernel of `n` executions: `history` carries each cell's first site only and no stacks (as the
 * protocol's history does); `cell_detail` answers with the full lists, later, except for the cells
 * in `forgotten` (answered with null) and `silent` (never answered).
 */
function fakeKernel(n: number, forgotten: number[] = [], silent: number[] = []) {
  const full: ICellRun[] = [];
  for (let seq = 1; seq <= n; seq++) {
    const id = `cell${seq}`;
    const sites = [site(id, seq, 2, `alloc_${seq}_peak`, 3000), site(id, seq, 3, `alloc_${seq}_second`, 2000)];
    full.push(
      cellPayload({
        cell_id: id,
        execution_count: seq,
        seq,
        source: `x${seq} = f()\ny = 1\nz = 2`,
        start_bytes: 1000,
        peak_bytes: 6000,
        end_bytes: 3000,
        top_at_peak: sites,
        retained: [site(id, seq, 2, `alloc_${seq}_kept`, 2000)]
      })
    );
  }
  const brief = (run: ICellRun): ICellRun => ({
    ...run,
    top_at_peak: run.top_at_peak!.slice(0, 1).map(s => ({ ...s, stack: [] })),
    retained: []
  });
  const model = new HeapModel();
  model.apply({ type: 'history', status: statusPayload({ attribution: true }), cells: full.map(brief), running: null });
  const requests: { seq: number; limit?: number }[] = [];
  const session = {
    model,
    requestDetail: jest.fn((seq: number, limit?: number) => {
      requests.push({ seq, limit });
      if (!silent.includes(seq)) {
        setTimeout(() => {
          const cell = forgotten.includes(seq) ? null : full[seq - 1];
          model.apply({ type: 'cell_detail', seq, cell });
        }, 1);
      }
      return true;
    }),
    requestRetained: jest.fn(() => {
      setTimeout(() => model.apply({ type: 'retained_by_cell', retained_by_cell: [] }), 1);
      return true;
    }),
    sessionContext: { session: { kernel: { name: 'heapscope' } } },
    notebookPanel: {
      context: { path: 'work/nb.ipynb' },
      content: { widgets: full.map(c => ({ model: { id: c.cell_id } })) }
    }
  } as unknown as IHeapSession;
  return { full, brief, model, session, requests };
}

describe('fetchCellDetails', () => {
  it('asks for every execution once, bounded in flight, and reports progress', async () => {
    // The silent cell is the last one asked for, so every other request is sent before it times out.
    const { full, brief, session, requests } = fakeKernel(9, [4], [9]);
    const progress: [number, number][] = [];
    const found = await fetchCellDetails(session, {
      limit: 123,
      timeout: 500,
      concurrency: 3,
      onProgress: (done, total) => progress.push([done, total])
    });
    expect(requests.map(r => r.seq).sort((a, b) => a - b)).toEqual(full.map(c => c.seq));
    expect(requests.every(r => r.limit === 123)).toBe(true);
    expect(progress[0]).toEqual([0, full.length]);
    expect(progress[progress.length - 1]).toEqual([full.length, full.length]);
    // The silent cell is missing, the forgotten one keeps its history record, every other one
    // is the full record.
    expect([...found.keys()].sort((a, b) => a - b)).toEqual(full.map(c => c.seq!).filter(s => s !== 9));
    for (const [seq, run] of found) {
      expect(run).toEqual(seq === 4 ? brief(full[seq - 1]) : full[seq - 1]);
    }
  });

  it('does not ask again for a cell whose detail the model has', async () => {
    const { full, model, session, requests } = fakeKernel(3);
    model.apply({ type: 'cell_detail', seq: 2, cell: full[1] });
    const found = await fetchCellDetails(session, { timeout: 50 });
    expect(requests.map(r => r.seq)).not.toContain(2);
    expect(found.size).toBe(full.length);
  });

  it('stops asking once the kernel does not answer in time', async () => {
    const { full, session, requests } = fakeKernel(12, [], [1]);
    const progress: number[] = [];
    const found = await fetchCellDetails(session, {
      timeout: 100,
      concurrency: 1,
      onProgress: done => progress.push(done)
    });
    expect(requests.map(r => r.seq)).toEqual([1]);
    expect(found.size).toBe(0);
    expect(progress[progress.length - 1]).toBe(full.length);
  });

  it('does not ask for a run without site lists', async () => {
    const { full, model, session, requests } = fakeKernel(2);
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'nested', seq: full.length + 1 }) });
    await fetchCellDetails(session, { timeout: 50 });
    expect(requests.map(r => r.seq).sort()).toEqual(full.map(c => c.seq));
  });

  it('asks nothing of a kernel without attribution', async () => {
    const { model, session, requests } = fakeKernel(2);
    model.apply({ type: 'status', status: statusPayload({ attribution: false, attribution_reason: 'no bridge' }) });
    await fetchCellDetails(session);
    expect(requests).toEqual([]);
  });
});

describe('exportReport', () => {
  it('writes every cell’s top lines and retained sites although no drill-down was opened', async () => {
    const n = 6;
    const { full, brief, session } = fakeKernel(n);
    const saved = new Map<string, string>();
    const contents = {
      save: jest.fn(async (path: string, options: { content: string }) => {
        saved.set(path, options.content);
        return {};
      })
    };
    const result = await exportReport(session, contents as any, TEMPLATE, '0.1.0', { timeout: 200 });
    expect([...saved.keys()].sort()).toEqual([result.html, result.json].sort());

    const html = saved.get(result.html)!;
    const doc = new DOMParser().parseFromString(html, 'text/html');
    const report = unpackReport(JSON.parse(doc.getElementById(REPORT_DATA_ID)!.textContent!) as IReport);
    expect(JSON.parse(saved.get(result.json)!)).toEqual(report);
    expect(report.cells).toHaveLength(n);
    for (const run of full) {
      const cell = report.cells.find(c => c.seq === run.seq)!;
      // More than the history carried: the full lists, with stacks.
      expect(cell.top_at_peak!.length).toBeGreaterThan(brief(run).top_at_peak!.length);
      expect(cell.top_at_peak).toEqual(run.top_at_peak);
      expect(cell.retained).toEqual(run.retained);
      expect(cell.top_at_peak!.every(s => s.stack.length > 0)).toBe(true);
    }

    // The page shows them: every cell's figures, top line and retained site as text.
    const root = document.createElement('main');
    renderReport(root, report, null);
    // Each cell's lists are drawn when its <details> opens.
    for (const details of Array.from(root.querySelectorAll('details'))) {
      details.open = true;
      details.dispatchEvent(new Event('toggle'));
    }
    const text = root.textContent!;
    for (const run of full) {
      for (const s of [...run.top_at_peak!, ...run.retained!]) {
        expect(text).toContain(s.function);
      }
    }
    const rows = root.querySelectorAll('.jp-heapscope-Site');
    expect(rows).toHaveLength(full.reduce((sum, c) => sum + c.top_at_peak!.length + c.retained!.length, 0));
  });
});
