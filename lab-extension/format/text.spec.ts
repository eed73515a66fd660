import { displayText, firstSourceLine, shortenPath } from './text';
import { serverRelativePath } from '../navigate/paths';
import { fileLine, formatPercent, frameLocation, peakBase, recordSourceLookup, siteRow } from '../sites/sites';
import { readConfiguration } from '../tracker/configuration';
import { persistedSummary } from '../badges/notebookBadges';
import { cellPayload, sitePayload } from '../testing/fixtures';

describe('displayText', () => {
  it('shows control, bidi and zero-width characters escaped and replaces lone surrogates', () => {
    expect(displayText('a\u202eb\u200bc\u0007\nd')).toBe('a\\u{202e}b\\u{200b}c\\u{0007}\\u{000a}d');
    expect(displayText('x\ud800y')).toBe('x\ufffdy');
    expect(displayText('😀\tok')).toBe('😀\tok');
  });

  it('cuts long strings with an ellipsis', () => {
    expect(displayText('abcdef', 4)).toBe('abc…');
    expect(shortenPath('/very/long/path/file.py', 10)).toBe('…h/file.py');
    expect(firstSourceLine('\n  \n  x = 1  \ny')).toBe('x = 1');
  });
});

describe('site presentation', () => {
  it('formats shares of the peak', () => {
    expect(formatPercent(62, 100)).toBe('62 %');
    expect(formatPercent(4, 1000)).toBe('0.4 %');
    expect(formatPercent(1, 100_000)).toBe('<0.1 %');
    expect(formatPercent(1, 0)).toBe('');
  });

  it('uses the larger of the peak added and the sites’ sum as the base', () => {
    const record = cellPayload({ start_bytes: 0, peak_bytes: 100, top_at_peak: [sitePayload({ bytes: 150 })] });
    expect(peakBase(record)).toBe(150);
    expect(peakBase(cellPayload({ start_bytes: 10, peak_bytes: 110 }))).toBe(100);
  });

  it('names cell lines and files', () => {
    const site = sitePayload();
    expect(frameLocation(site)).toBe('cell [3] line 2');
    const file = { ...site, file: '/usr/lib/python3/site.py', line: null, cell_id: null, cell_line: null };
    expect(fileLine(file)).toBe('/usr/lib/python3/site.py');
    expect(frameLocation(file)).toBe('/usr/lib/python3/site.py');
  });

  it('takes the source line from the run, else from the notebook', () => {
    const runs = [cellPayload({ execution_count: 2, source: 'a\nold line' }), cellPayload({ execution_count: 3, source: 'a\n  x = np.ones(5)  ' })];
    const lookup = recordSourceLookup(runs, id => (id === 'other' ? 'p\nq' : undefined));
    const row = siteRow(sitePayload({ bytes: 80_000_000 }), 100_000_000, lookup);
    expect(row).toEqual({
      bytes: '80 MB',
      percent: '80 %',
      count: '1 block',
      location: 'cell [3] line 2',
      fileLine: '/tmp/ipykernel_1234/123.py:2',
      fileLineFull: '/tmp/ipykernel_1234/123.py:2',
      function: '<module>',
      source: 'x = np.ones(5)'
    });
    expect(siteRow(sitePayload({ execution_count: 2 }), 1, lookup).source).toBe('old line');
    expect(siteRow(sitePayload({ cell_id: 'other' }), 1, lookup).source).toBe('q');
    expect(siteRow(sitePayload({ cell_id: 'gone' }), 1, lookup).source).toBe('');
  });
});

describe('serverRelativePath', () => {
  it('accepts files under the root, by path components', () => {
    expect(serverRelativePath('/srv/root/a/b.py', '/srv/root')).toBe('a/b.py');
    expect(serverRelativePath('/srv/root/./a/../b.py', '/srv/root/')).toBe('b.py');
  });

  it('refuses everything else', () => {
    expect(serverRelativePath('/srv/root2/b.py', '/srv/root')).toBeNull();
    expect(serverRelativePath('/srv/root/../etc/passwd', '/srv/root')).toBeNull();
    expect(serverRelativePath('/srv/root', '/srv/root')).toBeNull();
    expect(serverRelativePath('<frozen runpy>', '/srv/root')).toBeNull();
    expect(serverRelativePath('/srv/root/.venv/x.py', '/srv/root')).toBeNull();
    expect(serverRelativePath('/srv/root/a.py', '')).toBeNull();
  });
});

describe('settings', () => {
  it('reads the profiler configuration with defaults', () => {
    expect(readConfiguration({})).toEqual({ mode: 'default', topN: 20 });
    expect(readConfiguration({ mode: 'exact', topN: 50 })).toEqual({ mode: 'exact', topN: 50 });
    expect(readConfiguration({ mode: 'fast', topN: 0 })).toEqual({ mode: 'default', topN: 20 });
  });

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
