/**
 * Byte counts as people read them, in decimal units (1 kB = 10^3 B, 1 MB = 10^6 B, …).
 *
 * Every figure the extension shows goes through these functions, so units are stated
 * the same way everywhere: the badges, the panel, the chart's hover text and its axis.
 */

/**
 * The decimal units, smallest first.
 */
export const BYTE_UNITS: ReadonlyArray<string> = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/**
 * Format a byte count with three significant digits and a decimal unit.
 *
 * @param bytes - a byte count; negative counts keep their minus sign (ASCII `-`).
 * @returns for example `512 B`, `52.4 MB`, `1.2 GB`, `-200 MB`; `–` for a non-finite value.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) {
    return '–';
  }
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  let digits = unit === 0 ? String(Math.round(value)) : Private.threeSignificant(value);
  if (digits === '1000' && unit < BYTE_UNITS.length - 1) {
    // 999.6 MB rounds to 1000 MB: say 1 GB instead.
    digits = '1';
    unit++;
  }
  const sign = bytes < 0 && digits !== '0' ? '-' : '';
  return `${sign}${digits} ${BYTE_UNITS[unit]}`;
}

/**
 * Format a byte difference with an explicit sign: `+200 MB`, `-200 MB`, `+0 B`.
 *
 * @param delta - a difference of two byte counts.
 * @returns the formatted difference; a positive or zero difference starts with `+`.
 */
export function formatSignedBytes(delta: number): string {
  const text = formatBytes(delta);
  return text.startsWith('-') || text === '–' ? text : `+${text}`;
}

/**
 * Parse a size written as the badges write it: `500 MB`, `500MB`, `2 GB`, `1.5 kB`, `512` (bytes), or
 * in binary units: `2GiB`, `500 MiB`. Units are case-insensitive; decimal units are powers of 1000
 * (`1 KB` = 1000 B), `KiB`… powers of 1024. The result is rounded to whole bytes.
 *
 * @param text - the size, a non-negative decimal number (no exponent, no thousands separator) and a unit.
 * @returns the byte count, or `null` when the text is not such a size or exceeds 2^53 - 1 bytes.
 */
export function parseBytes(text: string): number | null {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) {
    return null;
  }
  const scale = Private.UNIT_SCALES.get(match[2].toLowerCase());
  if (scale === undefined) {
    return null;
  }
  const bytes = Math.round(Number(match[1]) * scale);
  return bytes <= Number.MAX_SAFE_INTEGER ? bytes : null;
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * Bytes per unit, by lower-case unit name (the empty name is bytes).
   */
  export const UNIT_SCALES: ReadonlyMap<string, number> = new Map([
    ['', 1],
    ['b', 1],
    ['kb', 1e3],
    ['mb', 1e6],
    ['gb', 1e9],
    ['tb', 1e12],
    ['pb', 1e15],
    ['kib', 2 ** 10],
    ['mib', 2 ** 20],
    ['gib', 2 ** 30],
    ['tib', 2 ** 40],
    ['pib', 2 ** 50]
  ]);

  /**
   * Three significant digits for 1 ≤ value < 1000, without trailing zeros.
   */
  export function threeSignificant(value: number): string {
    const fixed = value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2);
    return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
  }
}
