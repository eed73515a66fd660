import { cellLabel, firstCodeLine, labelText, LABEL_WIDTH, shortenCode, xTicks } from './labels';

describe('cell labels', () => {
  it('take the first line that is neither blank nor a comment', () => {
    expect(firstCodeLine('\n# load the data\n  \n  df = pd.read_csv("a.csv")  \nprint(df)')).toBe(
      'df = pd.read_csv("a.csv")'
    );
    expect(firstCodeLine('#!/usr/bin/env python\n#: doc\nx = 1')).toBe('x = 1');
    expect(firstCodeLine('# only a comment\n# and another')).toBe('# only a comment');
    expect(firstCodeLine('  \n\n')).toBe('');
    expect(firstCodeLine('%time y = f()')).toBe('%time y = f()');
  });

  it('shorten a call to its name and (…)', () => {
    expect(shortenCode('df = pd.read_csv("data/very_long_file_name.csv", sep=";")')).toBe('df = pd.read_csv(…)');
    expect(shortenCode('x = 1')).toBe('x = 1');
    expect(shortenCode('a_very_long_variable_name_here = 1', 10)).toBe('a_very_lo…');
    expect(shortenCode('f(' + 'x'.repeat(40) + ')', 22)).toBe('f(…)');
  });

  it('read [12] df = pd.read_csv(…)', () => {
    const label = cellLabel({ execution_count: 12, source: '# read\ndf = pd.read_csv("data/2024/january.csv")' });
    expect(label).toEqual({ count: '[12]', code: 'df = pd.read_csv(…)' });
    expect(labelText(label)).toBe('[12] df = pd.read_csv(…)');
    expect(labelText(cellLabel({ execution_count: null, source: '' }))).toBe('[?]');
    expect(labelText(cellLabel({ execution_count: 4 }))).toBe('[4]');
  });

  it('show control and bidi characters visibly', () => {
    expect(cellLabel({ execution_count: 1, source: 'x = "\u202e"' }).code).toBe('x = "\\u{202e}"');
  });
});

describe('xTicks', () => {
  const labels = Array.from({ length: 500 }, (_, i) => ({ count: `[${i + 1}]`, code: `v${i} = f(${i})` }));

  it('label every slot with code when they fit', () => {
    const ticks = xTicks(labels.slice(0, 3), [-0.5, 2.5], 3 * LABEL_WIDTH.wide);
    expect(ticks.tickvals).toEqual([0, 1, 2]);
    expect(ticks.ticktext).toEqual(['[1]<br>v0 = f(0)', '[2]<br>v1 = f(1)', '[3]<br>v2 = f(2)']);
  });

  it('thin the labels to the width, counts alone when few code labels fit', () => {
    const ticks = xTicks(labels.slice(0, 12), [-0.5, 11.5], 170);
    expect(ticks.tickvals.length).toBeLessThanOrEqual(Math.floor(170 / LABEL_WIDTH.narrow));
    expect(ticks.tickvals.length).toBeGreaterThanOrEqual(3);
    expect(ticks.ticktext.every(t => /^\[\d+\]$/.test(t))).toBe(true);
    const wide = xTicks(labels, [-0.5, 499.5], 700);
    expect(wide.tickvals.length).toBeLessThanOrEqual(Math.floor(700 / LABEL_WIDTH.wide));
    expect(wide.ticktext[0]).toContain('<br>');
  });

  it('put ticks on multiples of the step so they do not jump while panning', () => {
    const a = xTicks(labels, [100.2, 200.2], 400);
    const b = xTicks(labels, [103.7, 203.7], 400);
    const step = a.tickvals[1] - a.tickvals[0];
    expect(a.tickvals.every(v => v % step === 0)).toBe(true);
    expect(b.tickvals.every(v => v % step === 0)).toBe(true);
    expect(a.tickvals[0]).toBeGreaterThanOrEqual(101);
  });

  it('label only the slots in view and escape the code', () => {
    expect(xTicks(labels, [600, 700], 400)).toEqual({ tickvals: [], ticktext: [] });
    const ticks = xTicks([{ count: '[1]', code: 'a < b' }], [-0.5, 0.5], 400, t => t.replace('<', '&lt;'));
    expect(ticks.ticktext).toEqual(['[1]<br>a &lt; b']);
  });
});
