/**
 * Protocol v2 payloads for the unit tests (never part of the built extension).
 */
import type { ICellRun, ICellStart, IFrame, IProfilerStatus, ISite } from '../comm/protocol';

/**
 * A valid, active profiler status.
 */
export function statusPayload(overrides: Partial<IProfilerStatus> = {}): IProfilerStatus {
  return {
    active: true,
    reason: null,
    shim_version: '0.1.0',
    mode: 'default',
    pid: 1234,
    python: '3.11.7',
    current_bytes: 52_428_800,
    profiler_bytes: 0,
    ...overrides
  };
}

/**
 * A valid `cell_start` payload.
 */
export function cellStartPayload(overrides: Partial<ICellStart> = {}): ICellStart {
  return {
    cell_id: 'c0ffee',
    execution_count: 3,
    start_bytes: 52_428_800,
    started_at: 1764150000.1,
    ...overrides
  };
}

/**
 * A valid CellRecord: by default the cell `x = bytearray(200_000_000)`.
 */
export function cellPayload(overrides: Partial<ICellRun> = {}): ICellRun {
  return {
    cell_id: 'c0ffee',
    execution_count: 3,
    source: 'x = bytearray(200_000_000)',
    start_bytes: 52_428_800,
    peak_bytes: 252_428_800,
    end_bytes: 252_428_800,
    status: 'ok',
    started_at: 1764150000.1,
    ended_at: 1764150000.3,
    ...overrides
  };
}

/**
 * Wrap a body into a protocol v2 message.
 */
export function message(type: string, body: { [key: string]: unknown } = {}): { [key: string]: unknown } {
  return { protocol: 2, type, ...body };
}

/**
 * The strings a hostile kernel could send as file names, function names and source.
 */
export const PAYLOADS = [
  '<img src=x onerror=alert(1)>',
  '</script><script>alert(1)</script>',
  `"'&`,
  '$& $1 $` <!-- \u2028\u2029'
] as const;

/**
 * A valid Site whose innermost frame is a cell line (with a one-frame stack).
 */
export function sitePayload(overrides: Partial<ISite> = {}): ISite {
  const frame: IFrame = {
    file: '/tmp/ipykernel_1234/123.py',
    line: 2,
    function: '<module>',
    cell_id: 'c0ffee',
    cell_line: 2,
    execution_count: 3
  };
  return { ...frame, bytes: 80_000_000, count: 1, stack: [frame], ...overrides };
}
