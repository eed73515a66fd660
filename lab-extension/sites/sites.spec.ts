import { fileLine, formatPercent, frameLocation, peakBase, runSourceLookup, siteRow } from './sites';
import { cellPayload, sitePayload } from '../testing/fixtures';

describe('site presentation', () => {
  it('formats shares of the peak', () => {
    expect(formatPercent(62, 100)).toBe('62 %');
    expect(formatPercent(4, 1000)).toBe('0.4 %');
    expect(formatPercent(1, 100_000)).toBe('<0.1 %');
    expect(formatPercent(1, 0)).toBe('');
  });

  it('uses the larger of the peak added and the sites’ sum as the base', () => {
    const run = cellPayload({ start_bytes: 0, peak_bytes: 100, top_at_peak: [sitePayload({ bytes: 150 })] });
    expect(peakBase(run)).toBe(150);
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
    const runs = [
      cellPayload({ execution_count: 2, source: 'a\nold line' }),
      cellPayload({ execution_count: 3, source: 'a\n  x = np.ones(5)  ' })
    ];
    const lookup = runSourceLookup(runs, id => (id === 'other' ? 'p\nq' : undefined));
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
