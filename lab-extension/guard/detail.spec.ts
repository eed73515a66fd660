import { cellPayload, PAYLOADS, sitePayload } from '../testing/fixtures';
import { createGuardDetail, createPostMortem } from './detail';

describe('createGuardDetail', () => {
  it('shows heap Δ beside RSS Δ and explains the gap', () => {
    const run = cellPayload({ rss_start_bytes: 150_000_000, rss_peak_bytes: 460_000_000, rss_end_bytes: 420_000_000 });
    const node = createGuardDetail(run)!;
    expect(node.querySelector('.jp-heapscope-GuardDetail-deltas')!.textContent).toBe(
      'heap Δ +200 MB · RSS Δ +270 MB · RSS peak +310 MB'
    );
    expect(node.querySelector('summary')!.textContent).toBe('At the end, RSS was 168 MB above the heap.');
    expect(node.textContent).toContain('not always returned to the system');
    expect(createGuardDetail(cellPayload())).toBeNull();
  });

  it('says a guard stop in the kernel’s words, as text', () => {
    const run = cellPayload({
      status: 'guard',
      guard_stop: {
        how: 'refused',
        usage_bytes: 15.2e9,
        limit_bytes: 16e9,
        request_bytes: 8e9,
        message: `stopped by heapscope at 15.2 GB of 16 GB ${PAYLOADS[0]}`
      }
    });
    const node = createGuardDetail(run)!;
    expect(node.querySelector('.jp-heapscope-GuardDetail-headline')!.textContent).toBe(
      `stopped by heapscope at 15.2 GB of 16 GB ${PAYLOADS[0]}`
    );
    expect(node.querySelector('img')).toBeNull();
    expect(node.textContent).toContain('An allocation of 8 GB would have crossed');
  });

  it('draws a post-mortem with its facts and its lines through the site kit', () => {
    const run = cellPayload({
      status: 'killed',
      execution_count: 4,
      post_mortem: {
        heap_bytes: 580_000_000,
        rss_bytes: 610_000_000,
        usage_bytes: 620_000_000,
        limit: { bytes: 629_145_600, source: 'cgroup_v1' },
        at: 1764150000,
        cause: 'signal_near_limit',
        pid: 4242,
        top_at_peak: [sitePayload({ bytes: 500_000_000 })]
      }
    });
    const clicked: number[] = [];
    const node = createPostMortem(run, {
      lookup: () => 'big = np.ones(10)',
      onNavigate: frame => clicked.push(frame.line ?? 0)
    });
    expect(node.querySelector('.jp-heapscope-GuardDetail-headline')!.textContent).toBe(
      'The kernel died while running this cell'
    );
    expect(node.querySelector('dd')!.textContent).toMatch(/^most likely out of memory/);
    const facts = Array.from(node.querySelectorAll('dt')).map(dt => dt.textContent);
    expect(facts).toEqual(['likely cause', 'heap', 'RSS', 'usage', 'last sample', 'process']);
    expect(node.querySelectorAll('.jp-heapscope-Site')).toHaveLength(1);
    (node.querySelector('.jp-heapscope-Site-location') as HTMLElement).click();
    expect(clicked).toEqual([2]);
    // Without list options, the facts only.
    expect(createPostMortem(run).querySelectorAll('.jp-heapscope-Site')).toHaveLength(0);
  });
});
