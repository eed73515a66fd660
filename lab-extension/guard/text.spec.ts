import { cellPayload, statusPayload } from '../testing/fixtures';
import {
  causeText,
  gapText,
  guardSettingsText,
  guardStopText,
  limitText,
  memoryLineText,
  percentText,
  postMortemSummary,
  releaseText,
  runDeltas,
  warningText
} from './text';

const GB = 1_000_000_000;

describe('limit and warning text', () => {
  it('names the limit with its source in words', () => {
    expect(limitText({ bytes: 16 * GB, source: 'cgroup' })).toBe('16 GB (cgroup)');
    expect(limitText({ bytes: 629_145_600, source: 'cgroup_v1' })).toBe('629 MB (cgroup v1)');
    expect(limitText({ bytes: 8 * GB, source: 'available' })).toBe('8 GB (available memory)');
    expect(percentText(0.8249)).toBe('82 %');
    expect(percentText(Number.NaN)).toBe('? %');
  });

  it('shows the kernel’s warning message as it is, and builds it when there is none', () => {
    const warning = {
      seq: 7,
      cell_id: 'c7',
      execution_count: 7,
      usage_bytes: 13.2 * GB,
      limit_bytes: 16 * GB,
      fraction: 0.8249,
      level: 'soft' as const,
      message: 'cell [7] is at 82 % of the 16 GB limit (cgroup)'
    };
    expect(warningText(warning)).toBe('cell [7] is at 82 % of the 16 GB limit (cgroup)');
    expect(warningText({ ...warning, message: '' }, { bytes: 16 * GB, source: 'cgroup' })).toBe(
      'cell [7] is at 82 % of the 16 GB limit (cgroup)'
    );
    expect(warningText({ ...warning, message: '', execution_count: null })).toBe(
      'the running cell is at 82 % of the 16 GB limit'
    );
    // A hostile message stays text (displayText only trims control characters, never escapes).
    expect(warningText({ ...warning, message: '<img src=x onerror=alert(1)>' })).toBe('<img src=x onerror=alert(1)>');
  });

  it('says how the guard stopped a run', () => {
    const stop = {
      how: 'refused' as const,
      usage_bytes: 15.2 * GB,
      limit_bytes: 16 * GB,
      message: 'stopped by heapscope at 15.2 GB of 16 GB'
    };
    expect(guardStopText(stop)).toBe('stopped by heapscope at 15.2 GB of 16 GB');
    expect(guardStopText({ ...stop, message: '' })).toBe('stopped by heapscope at 15.2 GB of 16 GB');
    expect(guardStopText(undefined)).toBe('stopped by heapscope');
  });
});

describe('post-mortem text', () => {
  it('summarises the killed run with the cause, heap, RSS and limit', () => {
    const run = cellPayload({
      status: 'killed',
      execution_count: 3,
      post_mortem: {
        heap_bytes: 580_000_000,
        rss_bytes: 610_000_000,
        at: 1764150000,
        cause: 'oom_kill',
        limit: { bytes: 629_145_600, source: 'cgroup_v1' },
        top_at_peak: []
      }
    });
    expect(postMortemSummary(run)).toBe(
      'The kernel died while running cell [3]: killed by the OOM killer (the cgroup’s OOM-kill count went up). ' +
        'Last seen with heap 580 MB, RSS 610 MB of 629 MB (cgroup v1).'
    );
    expect(postMortemSummary(cellPayload({ status: 'killed', execution_count: null }))).toBe(
      'The kernel died while running a cell.'
    );
    expect(causeText('signal_near_limit')).toContain('out of memory');
    expect(causeText('unknown')).toContain('unknown');
    expect(causeText('something new')).toContain('unknown');
  });
});

describe('heap beside RSS', () => {
  it('gives heap Δ and RSS Δ, and the gap at the end', () => {
    const run = cellPayload({
      start_bytes: 100_000_000,
      peak_bytes: 400_000_000,
      end_bytes: 100_000_000,
      rss_start_bytes: 150_000_000,
      rss_peak_bytes: 460_000_000,
      rss_end_bytes: 420_000_000
    });
    expect(runDeltas(run)).toEqual({ heap: '+0 B', rss: '+270 MB', rssPeak: '+310 MB' });
    expect(gapText(run)).toBe('At the end, RSS was 320 MB above the heap.');
    expect(runDeltas(cellPayload())).toEqual({ heap: '+200 MB', rss: null, rssPeak: null });
    expect(gapText(cellPayload())).toBeNull();
  });
});

describe('Return freed memory', () => {
  it('says how much RSS came back, or clearly that nothing did', () => {
    const released = {
      rss_before_bytes: 900_000_000,
      rss_after_bytes: 780_000_000,
      released_bytes: 120_000_000,
      at: 1
    };
    expect(releaseText({ kind: 'released', released })).toBe(
      'Returned 120 MB of freed memory to the system (RSS 900 MB → 780 MB).'
    );
    const nothing = { ...released, rss_after_bytes: 900_000_000, released_bytes: 0 };
    expect(releaseText({ kind: 'released', released: nothing })).toMatch(/^Nothing to return/);
    const page = { ...released, rss_after_bytes: 899_995_904, released_bytes: 4096 };
    expect(releaseText({ kind: 'released', released: page })).toMatch(
      /^Nothing to return: .*\(only 4\.1 kB; RSS 900 MB → 900 MB\)/
    );
    expect(releaseText({ kind: 'not-heapscope' })).toContain('does not run heapscope');
    expect(releaseText({ kind: 'unsupported' })).toContain('cannot return freed memory');
    expect(releaseText({ kind: 'no-kernel' })).toContain('no running heapscope kernel');
    expect(releaseText({ kind: 'timeout' })).toContain('did not answer');
  });
});

describe('the panel’s memory line', () => {
  it('shows limit, usage share and RSS, or nothing without a limit', () => {
    const status = statusPayload({
      memory_limit: { bytes: 16 * GB, source: 'cgroup' },
      usage_bytes: 9.1 * GB,
      rss_bytes: 8.8 * GB,
      guard: { on: true, hard: 0.95, soft: 0.8 }
    });
    expect(memoryLineText(status)).toBe('limit 16 GB (cgroup) · usage 9.1 GB (57 %) · RSS 8.8 GB');
    expect(memoryLineText(statusPayload())).toBeNull();
    expect(memoryLineText(null)).toBeNull();
    expect(guardSettingsText(status)).toBe('Memory guard on: warns at 80 % of the limit and stops a cell at 95 %.');
    expect(
      guardSettingsText(statusPayload({ guard: { on: false, hard: 0.95, soft: 0.8, reason: 'switched off' } }))
    ).toBe('Memory guard off: switched off.');
  });
});
