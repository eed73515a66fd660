import { formatBytes, formatSignedBytes, parseBytes } from './bytes';
import cases from './bytes-cases.json';

/**
 * The cases shared with tests/test_bytes_format.py: numbers JSON cannot hold are strings there.
 */
function value(x: number | string): number {
  return typeof x === 'number' ? x : Number(x);
}

describe('formatBytes (shared cases)', () => {
  it.each(cases.format as Array<[number | string, string]>)('formats %p bytes as %p', (bytes, text) => {
    expect(formatBytes(value(bytes))).toBe(text);
  });

  it('never writes a negative zero', () => {
    expect(formatBytes(-0)).toBe('0 B');
  });
});

describe('formatSignedBytes (shared cases)', () => {
  it.each(cases.formatSigned as Array<[number | string, string]>)('formats %p as %p', (delta, text) => {
    expect(formatSignedBytes(value(delta))).toBe(text);
  });
});

describe('parseBytes (shared cases)', () => {
  it.each(cases.parse as Array<[string, number | null]>)('parses %p as %p', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  it('reads back what formatBytes writes, within its rounding (0.5%)', () => {
    let checked = 0;
    for (const [bytes, text] of cases.format as Array<[number | string, string]>) {
      const n = value(bytes);
      if (Number.isInteger(n) && n > 0 && n <= 1e15) {
        expect(Math.abs((parseBytes(text) ?? -1) - n)).toBeLessThanOrEqual(0.005 * n);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });
});
