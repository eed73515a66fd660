import { buildReport } from './report';
import { renderReport } from './viewer';
import { cellPayload, PAYLOADS, sitePayload, statusPayload } from '../testing/fixtures';
import { reportGuardWarnings, reportLimitFact, reportStatusText } from '../guard/reportText';

const LIMIT = { bytes: 629_145_600, source: 'cgroup_v1' as const };

function guardReport() {
  return buildReport({
    path: 'guard.ipynb',
    kernelName: 'heapscope',
    status: statusPayload({ memory_limit: LIMIT, guard: { on: true, hard: 0.95, soft: 0.8 } }),
    cells: [
      cellPayload({
        seq: 1,
        cell_id: 'a',
        execution_count: 1,
        rss_start_bytes: 80_000_000,
        rss_peak_bytes: 300_000_000,
        rss_end_bytes: 290_000_000
      }),
      cellPayload({
        seq: 2,
        cell_id: 'b',
        execution_count: 2,
        source: 'big = np.ones(10**9)',
        status: 'guard',
        guard_stop: {
          how: 'refused',
          usage_bytes: 598_000_000,
          limit_bytes: LIMIT.bytes,
          message: `stopped by heapscope at 598 MB of 629.1 MB ${PAYLOADS[0]}`
        }
      }),
      cellPayload({
        seq: 3,
        cell_id: 'c',
        execution_count: 3,
        source: 'hold = np.ones(70_000_000)',
        status: 'killed',
        top_at_peak: [sitePayload({ cell_id: 'c', execution_count: 3, bytes: 560_000_000 })],
        post_mortem: {
          heap_bytes: 580_000_000,
          rss_bytes: 610_000_000,
          usage_bytes: 612_000_000,
          limit: LIMIT,
          at: 1764150000,
          cause: 'oom_kill',
          pid: 99,
          top_at_peak: [sitePayload({ cell_id: 'c', execution_count: 3, bytes: 560_000_000 })]
        }
      })
    ],
    retainedByCell: null,
    cellIds: ['a', 'b', 'c'],
    version: '0.1.0',
    now: 1764150100
  });
}

describe('the guard in the report', () => {
  it('carries the memory limit at the top level', () => {
    expect(guardReport().memory_limit).toEqual(LIMIT);
    expect(reportLimitFact(guardReport())).toBe('memory limit 629 MB (cgroup v1)');
    expect(reportLimitFact({})).toBeNull();
  });

  it('names guard stops and deaths in the header and the table', () => {
    const report = guardReport();
    expect(reportGuardWarnings(report.cells)).toEqual([
      `[2] stopped by heapscope at 598 MB of 629.1 MB ${PAYLOADS[0]}`,
      'The kernel died while running cell [3]: killed by the OOM killer (the cgroup’s OOM-kill count went up). Last seen with heap 580 MB, RSS 610 MB of 629 MB (cgroup v1).'
    ]);
    expect(report.cells.map(reportStatusText)).toEqual([
      'ok',
      `stopped by heapscope at 598 MB of 629.1 MB ${PAYLOADS[0]}`,
      'killed (the kernel died)'
    ]);
  });

  it('renders the limit, the stop, the post-mortem and heap beside RSS, as text', () => {
    const root = document.createElement('main');
    const plotly = { newPlot: jest.fn((..._args: unknown[]) => Promise.resolve()) };
    renderReport(root, guardReport(), plotly);
    for (const details of Array.from(root.querySelectorAll('details'))) {
      details.open = true;
      details.dispatchEvent(new Event('toggle'));
    }
    expect(root.querySelector('.hs-facts')!.textContent).toContain('memory limit 629 MB (cgroup v1)');
    expect(Array.from(root.querySelectorAll('.hs-guard')).map(n => n.textContent)).toHaveLength(2);
    expect(root.querySelectorAll('img, script')).toHaveLength(0);
    expect(root.textContent).toContain(PAYLOADS[0]);
    const killed = root.querySelector('#hs-cell-2')!;
    expect(killed.querySelector('.jp-heapscope-PostMortem')!.textContent).toContain('likely cause');
    expect(Array.from(killed.querySelectorAll('h4')).map(h => h.textContent)).toContain('Top lines at the last sample');
    expect(killed.querySelectorAll('.jp-heapscope-Site')).toHaveLength(1);
    expect(root.querySelector('#hs-cell-0 .jp-heapscope-GuardDetail-deltas')!.textContent).toBe(
      'heap Δ +200 MB · RSS Δ +210 MB · RSS peak +220 MB'
    );
    // The chart has the RSS trace and the limit line.
    const data = plotly.newPlot.mock.calls[0][1] as Array<{ name: string; visible?: unknown }>;
    expect(data.map(d => d.name)).toEqual(expect.arrayContaining(['RSS', 'limit', 'soft threshold']));
  });
});
