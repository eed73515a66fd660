import { clampTo, clipTop, logByteTicks } from './scale';

describe('clipTop', () => {
  it('keeps every value when none is far above the rest', () => {
    expect(clipTop([1e6, 2e6, 3e6, 2.5e6])).toEqual({ top: 3e6, clipped: 0 });
    expect(clipTop([])).toEqual({ top: 0, clipped: 0 });
    expect(clipTop([NaN, 5])).toEqual({ top: 5, clipped: 0 });
  });

  it('leaves a 12 GB run out of a chart of 100 MB runs', () => {
    const values = [...Array.from({ length: 30 }, (_, i) => 100e6 + i * 1e6), 12e9];
    expect(clipTop(values)).toEqual({ top: 129e6, clipped: 1 });
  });

  it('counts every outlier', () => {
    const values = [...Array.from({ length: 50 }, () => 10e6), 5e9, 7e9, 9e9];
    expect(clipTop(values)).toEqual({ top: 10e6, clipped: 3 });
  });
});

describe('clampTo', () => {
  it('draws values above the top at the top', () => {
    expect(clampTo([1, 5, 10], 6)).toEqual([1, 5, 6]);
  });
});

describe('logByteTicks', () => {
  it('labels the powers of ten around the values', () => {
    const ticks = logByteTicks(3e6, 12e9);
    expect(ticks.tickvals[0]).toBe(1e6);
    expect(ticks.tickvals[ticks.tickvals.length - 1]).toBe(1e11);
    expect(ticks.ticktext).toContain('1 GB');
    expect(ticks.ticktext).toContain('10 MB');
  });

  it('adds 2 and 5 between close powers, survives nonsense', () => {
    expect(logByteTicks(15e6, 80e6).ticktext).toEqual(['10 MB', '20 MB', '50 MB', '100 MB']);
    expect(logByteTicks(0, NaN).tickvals.length).toBeGreaterThan(0);
  });
});
