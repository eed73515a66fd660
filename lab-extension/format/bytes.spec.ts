import { formatBytes, formatSignedBytes } from './bytes';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [999, '999 B'],
    [1000, '1 kB'],
    [1500, '1.5 kB'],
    [52_428_800, '52.4 MB'],
    [200_000_000, '200 MB'],
    [1_234_567_890, '1.23 GB'],
    [1_200_000_000, '1.2 GB'],
    [99_950_000, '100 MB'],
    [999_600_000, '1 GB'],
    [10 ** 15, '1 PB'],
    [2 * 10 ** 18, '2000 PB']
  ])('formats %p bytes as %p', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('keeps the sign of negative counts', () => {
    expect(formatBytes(-200_000_000)).toBe('-200 MB');
    expect(formatBytes(-512)).toBe('-512 B');
  });

  it('never writes a negative zero', () => {
    expect(formatBytes(-0.2)).toBe('0 B');
  });

  it('refuses non-finite values', () => {
    expect(formatBytes(NaN)).toBe('–');
    expect(formatBytes(Infinity)).toBe('–');
  });
});

describe('formatSignedBytes', () => {
  it('adds a plus sign to gains and to zero', () => {
    expect(formatSignedBytes(200_000_000)).toBe('+200 MB');
    expect(formatSignedBytes(0)).toBe('+0 B');
  });

  it('keeps the minus sign of losses', () => {
    expect(formatSignedBytes(-199_987_654)).toBe('-200 MB');
  });

  it('leaves non-finite values unsigned', () => {
    expect(formatSignedBytes(NaN)).toBe('–');
  });
});
