/**
 * Protocol v1 between the in-kernel agent and the browser (docs/protocol.md).
 *
 * Pure code: {@link parseKernelMessage} checks a comm payload against the document and turns it
 * into a typed message, or says what is wrong with it. It never throws, so a bad message can
 * only be dropped, never break the panel.
 */

/**
 * The protocol version this extension speaks.
 */
export const PROTOCOL_VERSION = 1;

/**
 * The comm target the agent registers in the kernel.
 */
export const COMM_TARGET = 'heapscope';

/**
 * The profiler's state in the kernel (`status` messages and `history.status`).
 */
export interface IProfilerStatus {
  /**
   * Whether the shim is loaded and counting.
   */
  readonly active: boolean;
  /**
   * Why the profiler is not active, in words a user can act on; null when active.
   */
  readonly reason: string | null;
  /**
   * The version of the loaded shim, or null when none is loaded.
   */
  readonly shim_version: string | null;
  /**
   * The profiling mode.
   */
  readonly mode: ProfilerMode;
  /**
   * The kernel's process id.
   */
  readonly pid: number;
  /**
   * The kernel's Python version.
   */
  readonly python: string;
  /**
   * The tracked heap now, in bytes.
   */
  readonly current_bytes: number;
  /**
   * Memory the profiler itself uses, in bytes.
   */
  readonly profiler_bytes: number;
  /**
   * The version of the Python package the agent comes from (optional).
   */
  readonly agent_version?: string;
  /**
   * True once the shim could not grow its bookkeeping: totals may be low (optional).
   */
  readonly degraded?: boolean;
  /**
   * Whether line-level attribution (sites) is on (optional; absent before the engine).
   */
  readonly attribution?: boolean;
  /**
   * Why there is no attribution (optional).
   */
  readonly attribution_reason?: string | null;
  /**
   * A mode requested with `configure` that is not in force yet (optional).
   */
  readonly pending_mode?: ProfilerMode | null;
  /**
   * When {@link pending_mode} takes effect (optional).
   */
  readonly pending_mode_applies?: 'next_cell' | 'restart' | null;
  /**
   * Sites per list in `cell` and `history` messages (optional).
   */
  readonly top_n?: number;
  /**
   * The rate of the native sampler behind `samples`, per second (optional).
   */
  readonly live_hz?: number;
  /**
   * Allocations in the engine's pointer table now (optional).
   */
  readonly tracked_blocks?: number;
}

/**
 * One Python frame of an allocating stack.
 */
export interface IFrame {
  /**
   * The frame's file, or a pseudo-site such as `<native thread>`.
   */
  readonly file: string;
  /**
   * The line in that file, from 1; null when unknown.
   */
  readonly line: number | null;
  /**
   * The function's name.
   */
  readonly function: string;
  /**
   * The notebook cell this code belongs to, or null.
   */
  readonly cell_id: string | null;
  /**
   * The line within that cell, from 1, or null when the code is no cell's.
   */
  readonly cell_line: number | null;
  /**
   * The execution count of that cell run (optional).
   */
  readonly execution_count?: number | null;
}

/**
 * Where memory was allocated: the innermost frame (`file`, `line`, `function`), the innermost
 * cell frame (`cell_id`, `cell_line`), the bytes and blocks held, and the stack.
 */
export interface ISite extends IFrame {
  /**
   * Bytes held (an estimate in `default` mode for sampled small blocks).
   */
  readonly bytes: number;
  /**
   * Blocks held.
   */
  readonly count: number;
  /**
   * The stack, innermost frame first.
   */
  readonly stack: ReadonlyArray<IFrame>;
}

/**
 * Memory alive now that one cell allocated (runs of one cell id merged).
 */
export interface IRetained {
  /**
   * The cell's id; null for memory allocated outside any cell (or by a cell without id).
   */
  readonly cell_id: string | null;
  /**
   * The latest run's execution count (optional).
   */
  readonly execution_count?: number | null;
  /**
   * The latest run's `seq`; null for memory allocated outside any cell (optional).
   */
  readonly seq?: number | null;
  /**
   * Bytes held.
   */
  readonly bytes: number;
  /**
   * Blocks held (optional).
   */
  readonly count?: number;
  /**
   * The largest sites, bytes descending.
   */
  readonly sites: ReadonlyArray<ISite>;
}

/**
 * The profiling modes.
 */
export type ProfilerMode = 'default' | 'exact';

/**
 * How a cell's execution ended.
 */
export type CellStatus = 'ok' | 'error' | 'aborted';

/**
 * A cell that started executing (`cell_start.cell` and `history.running`).
 */
export interface ICellStart {
  /**
   * JupyterLab's cell id, or null when the client sent none.
   */
  readonly cell_id: string | null;
  /**
   * IPython's execution count.
   */
  readonly execution_count: number | null;
  /**
   * The tracked heap when the cell started, in bytes.
   */
  readonly start_bytes: number;
  /**
   * When the cell started, in seconds since the Unix epoch.
   */
  readonly started_at: number;
  /**
   * The cell's position in the kernel process's ledger, in the order cells start; the same in
   * `cell_start` and the later CellRecord (optional).
   */
  readonly seq?: number;
}

/**
 * One finished execution of a cell (the CellRecord of docs/protocol.md).
 */
export interface ICellRecord extends ICellStart {
  /**
   * The cell's source as executed.
   */
  readonly source: string;
  /**
   * The highest tracked heap while the cell ran (≥ start and end), in bytes.
   */
  readonly peak_bytes: number;
  /**
   * The tracked heap when the cell finished, in bytes.
   */
  readonly end_bytes: number;
  /**
   * How the cell ended.
   */
  readonly status: CellStatus;
  /**
   * When the cell finished, in seconds since the Unix epoch.
   */
  readonly ended_at: number;
  /**
   * Bytes allocated while the cell ran (optional).
   */
  readonly allocated_bytes?: number;
  /**
   * Bytes freed while the cell ran (optional).
   */
  readonly freed_bytes?: number;
  /**
   * Allocations while the cell ran (optional).
   */
  readonly alloc_count?: number;
  /**
   * Frees while the cell ran (optional).
   */
  readonly free_count?: number;
  /**
   * The largest sites holding the cell's own allocations at its peak (optional: absent without
   * attribution).
   */
  readonly top_at_peak?: ReadonlyArray<ISite>;
  /**
   * The largest sites of the cell's own allocations still alive when it ended (optional).
   */
  readonly retained?: ReadonlyArray<ISite>;
}

/**
 * A `status` message.
 */
export interface IStatusMessage {
  readonly type: 'status';
  readonly status: IProfilerStatus;
}

/**
 * A `cell_start` message.
 */
export interface ICellStartMessage {
  readonly type: 'cell_start';
  readonly cell: ICellStart;
}

/**
 * A `cell` message: one finished execution.
 */
export interface ICellMessage {
  readonly type: 'cell';
  readonly cell: ICellRecord;
}

/**
 * A `history` message: the kernel's whole state, answering `sync` and after `clear`.
 */
export interface IHistoryMessage {
  readonly type: 'history';
  readonly status: IProfilerStatus;
  readonly cells: ReadonlyArray<ICellRecord>;
  readonly running: ICellStart | null;
  /**
   * The heap alive now by allocating cell; null without attribution (optional).
   */
  readonly retained_by_cell?: ReadonlyArray<IRetained> | null;
}

/**
 * One live sample: `[unix time in seconds, tracked heap in bytes]`.
 */
export type HeapSample = readonly [number, number];

/**
 * A `samples` message: a batch of live heap samples taken while a cell runs.
 */
export interface ISamplesMessage {
  readonly type: 'samples';
  /**
   * The running cell's `seq`, or null.
   */
  readonly seq: number | null;
  /**
   * The samples, oldest first.
   */
  readonly samples: ReadonlyArray<HeapSample>;
}

/**
 * An `error` message: the kernel could not accept something the browser sent.
 */
export interface IErrorMessage {
  readonly type: 'error';
  readonly message: string;
}

/**
 * A `cell_detail` message: a cell's record with longer site lists (answer to `cell_detail`).
 */
export interface ICellDetailMessage {
  readonly type: 'cell_detail';
  /**
   * The `seq` asked for.
   */
  readonly seq: number;
  /**
   * The record, or null when the kernel no longer has it.
   */
  readonly cell: ICellRecord | null;
}

/**
 * A `retained_by_cell` message: the heap alive now by allocating cell.
 */
export interface IRetainedMessage {
  readonly type: 'retained_by_cell';
  /**
   * The entries, largest first; null without attribution.
   */
  readonly retained_by_cell: ReadonlyArray<IRetained> | null;
}

/**
 * Every message the kernel sends.
 */
export type KernelMessage =
  | IStatusMessage
  | ICellStartMessage
  | ICellMessage
  | IHistoryMessage
  | ISamplesMessage
  | ICellDetailMessage
  | IRetainedMessage
  | IErrorMessage;

/**
 * Every message the browser sends (docs/protocol.md, "Browser → kernel").
 */
export type BrowserMessage =
  | { readonly protocol: 1; readonly type: 'sync' | 'clear' }
  | {
      readonly protocol: 1;
      readonly type: 'configure';
      readonly mode?: ProfilerMode;
      readonly top_n?: number;
    }
  | { readonly protocol: 1; readonly type: 'cell_detail'; readonly seq: number; readonly limit?: number }
  | { readonly protocol: 1; readonly type: 'retained_by_cell'; readonly limit?: number };

/**
 * The body of a browser message (everything but `protocol`).
 */
export type BrowserRequest = BrowserMessage extends infer M
  ? M extends { protocol: 1 }
    ? Omit<M, 'protocol'>
    : never
  : never;

/**
 * The outcome of {@link parseKernelMessage}.
 */
export type ParseResult =
  | { readonly ok: true; readonly message: KernelMessage }
  | { readonly ok: false; readonly error: string };

/**
 * Build a browser → kernel message.
 *
 * @param type - `sync` (ask for a `history` answer) or `clear` (forget finished cells).
 * @returns the message, ready to be sent as comm data.
 */
export function browserMessage(type: 'sync' | 'clear'): BrowserMessage;
/**
 * Build a browser → kernel message.
 *
 * @param request - the message without `protocol`, e.g. `{type: 'cell_detail', seq: 7}`.
 * @returns the message, ready to be sent as comm data.
 */
export function browserMessage(request: BrowserRequest): BrowserMessage;
export function browserMessage(request: BrowserRequest | 'sync' | 'clear'): BrowserMessage {
  const body = typeof request === 'string' ? { type: request } : request;
  return { ...body, protocol: PROTOCOL_VERSION } as BrowserMessage;
}

/**
 * Check a kernel → browser comm payload against protocol v1.
 *
 * Unknown extra keys are allowed and left out of the typed result.
 *
 * @param data - the `data` of a comm message, as received.
 * @returns the typed message, or the first problem found.
 */
export function parseKernelMessage(data: unknown): ParseResult {
  try {
    return { ok: true, message: Private.message(data) };
  } catch (error) {
    if (error instanceof Private.ProtocolError) {
      return { ok: false, error: error.message };
    }
    throw error;
  }
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * A payload that does not follow the protocol.
   */
  export class ProtocolError extends Error {}

  type Obj = { [key: string]: unknown };

  const MODES: ReadonlyArray<string> = ['default', 'exact'];
  const CELL_STATUSES: ReadonlyArray<string> = ['ok', 'error', 'aborted'];
  const APPLIES: ReadonlyArray<string> = ['next_cell', 'restart'];
  const OPTIONAL_BYTES = ['allocated_bytes', 'freed_bytes', 'alloc_count', 'free_count'] as const;

  /**
   * Parse a whole message.
   */
  export function message(data: unknown): KernelMessage {
    const msg = object(data, 'message');
    if (msg.protocol !== PROTOCOL_VERSION) {
      fail(
        `unsupported protocol ${JSON.stringify(msg.protocol)} (this extension speaks ${PROTOCOL_VERSION})`
      );
    }
    const type = msg.type;
    switch (type) {
      case 'status':
        return { type, status: status(msg.status, 'status') };
      case 'cell_start':
        return { type, cell: cellStart(msg.cell, 'cell') };
      case 'cell':
        return { type, cell: cellRecord(msg.cell, 'cell') };
      case 'history':
        return history(msg);
      case 'samples':
        return {
          type,
          seq: optionalInteger(msg, 'seq', 'samples'),
          samples: samples(field(msg, 'samples', 'samples'))
        };
      case 'cell_detail':
        return {
          type,
          seq: integer(msg, 'seq', 'cell_detail'),
          cell: field(msg, 'cell', 'cell_detail') === null ? null : cellRecord(msg.cell, 'cell')
        };
      case 'retained_by_cell':
        return {
          type,
          retained_by_cell: retainedList(field(msg, 'retained_by_cell', 'retained_by_cell'), 'retained_by_cell')
        };
      case 'error':
        return { type, message: string(msg, 'message', 'error') };
      default:
        return fail(
          typeof type === 'string'
            ? `unknown message type ${JSON.stringify(type)}`
            : "'type' must be a string"
        );
    }
  }

  function history(msg: Obj): IHistoryMessage {
    if (!Array.isArray(msg.cells)) {
      fail('history.cells must be a list');
    }
    const cells = (msg.cells as unknown[]).map((cell, i) => cellRecord(cell, `cells[${i}]`));
    if (!('running' in msg)) {
      fail("history lacks 'running'");
    }
    const result: IHistoryMessage = {
      type: 'history',
      status: status(msg.status, 'status'),
      cells,
      running: msg.running === null ? null : cellStart(msg.running, 'running')
    };
    return 'retained_by_cell' in msg
      ? { ...result, retained_by_cell: retainedList(msg.retained_by_cell, 'retained_by_cell') }
      : result;
  }

  /**
   * A list of Retained entries, or null.
   */
  function retainedList(value: unknown, where: string): IRetained[] | null {
    if (value === null) {
      return null;
    }
    if (!Array.isArray(value)) {
      fail(`${where} must be a list or null`);
    }
    return (value as unknown[]).map((entry, i) => {
      const at = `${where}[${i}]`;
      const obj = object(entry, at);
      const retained: { -readonly [K in keyof IRetained]: IRetained[K] } = {
        cell_id: optionalString(obj, 'cell_id', at),
        bytes: bytes(obj, 'bytes', at),
        sites: siteList(field(obj, 'sites', at), `${at}.sites`)
      };
      if ('execution_count' in obj) {
        retained.execution_count = optionalInteger(obj, 'execution_count', at);
      }
      if ('seq' in obj) {
        retained.seq = optionalInteger(obj, 'seq', at);
      }
      if ('count' in obj) {
        retained.count = bytes(obj, 'count', at);
      }
      return retained;
    });
  }

  /**
   * A list of sites.
   */
  function siteList(value: unknown, where: string): ISite[] {
    if (!Array.isArray(value)) {
      fail(`${where} must be a list`);
    }
    return (value as unknown[]).map((site, i) => {
      const at = `${where}[${i}]`;
      const obj = object(site, at);
      const stack = field(obj, 'stack', at);
      if (!Array.isArray(stack)) {
        fail(`${at}.stack must be a list`);
      }
      return {
        ...frame(obj, at),
        bytes: bytes(obj, 'bytes', at),
        count: bytes(obj, 'count', at),
        stack: (stack as unknown[]).map((f, j) => frame(object(f, `${at}.stack[${j}]`), `${at}.stack[${j}]`))
      };
    });
  }

  /**
   * One frame (the frame fields of a site too).
   */
  function frame(obj: Obj, where: string): IFrame {
    const result: { -readonly [K in keyof IFrame]: IFrame[K] } = {
      file: string(obj, 'file', where),
      line: optionalInteger(obj, 'line', where),
      function: string(obj, 'function', where),
      cell_id: optionalString(obj, 'cell_id', where),
      cell_line: optionalInteger(obj, 'cell_line', where)
    };
    if ('execution_count' in obj) {
      result.execution_count = optionalInteger(obj, 'execution_count', where);
    }
    return result;
  }

  function samples(value: unknown): HeapSample[] {
    const pair = (s: unknown): s is [number, number] =>
      Array.isArray(s) &&
      s.length === 2 &&
      typeof s[0] === 'number' &&
      Number.isFinite(s[0]) &&
      Number.isSafeInteger(s[1]) &&
      s[1] >= 0;
    if (!Array.isArray(value) || !value.every(pair)) {
      fail('samples.samples must be a list of [time, bytes] pairs');
    }
    return (value as [number, number][]).map(([t, b]) => [t, b] as const);
  }

  function status(value: unknown, where: string): IProfilerStatus {
    const obj = object(value, where);
    const result: IProfilerStatus = {
      active: boolean(obj, 'active', where),
      reason: optionalString(obj, 'reason', where),
      shim_version: optionalString(obj, 'shim_version', where),
      mode: oneOf(obj, 'mode', where, MODES) as ProfilerMode,
      pid: integer(obj, 'pid', where),
      python: string(obj, 'python', where),
      current_bytes: bytes(obj, 'current_bytes', where),
      profiler_bytes: bytes(obj, 'profiler_bytes', where)
    };
    if (!result.active && !result.reason) {
      fail(`${where}.reason must say why the profiler is not active`);
    }
    const extra: { -readonly [K in keyof IProfilerStatus]?: IProfilerStatus[K] } = {};
    if ('agent_version' in obj) {
      extra.agent_version = string(obj, 'agent_version', where);
    }
    // The engine's optional fields: a malformed one is left out rather than failing the message.
    if (typeof obj.degraded === 'boolean') {
      extra.degraded = obj.degraded;
    }
    if (typeof obj.attribution === 'boolean') {
      extra.attribution = obj.attribution;
    }
    if (obj.attribution_reason === null || typeof obj.attribution_reason === 'string') {
      extra.attribution_reason = obj.attribution_reason;
    }
    if (obj.pending_mode === null || MODES.includes(obj.pending_mode as string)) {
      extra.pending_mode = obj.pending_mode as ProfilerMode | null;
    }
    if (obj.pending_mode_applies === null || APPLIES.includes(obj.pending_mode_applies as string)) {
      extra.pending_mode_applies = obj.pending_mode_applies as 'next_cell' | 'restart' | null;
    }
    if (Number.isSafeInteger(obj.top_n)) {
      extra.top_n = obj.top_n as number;
    }
    if (typeof obj.live_hz === 'number' && Number.isFinite(obj.live_hz) && obj.live_hz >= 0) {
      extra.live_hz = obj.live_hz;
    }
    if (Number.isSafeInteger(obj.tracked_blocks) && (obj.tracked_blocks as number) >= 0) {
      extra.tracked_blocks = obj.tracked_blocks as number;
    }
    return { ...result, ...extra };
  }

  function cellStart(value: unknown, where: string): ICellStart {
    const obj = object(value, where);
    const start: ICellStart = {
      cell_id: optionalString(obj, 'cell_id', where),
      execution_count: optionalInteger(obj, 'execution_count', where),
      start_bytes: bytes(obj, 'start_bytes', where),
      started_at: number(obj, 'started_at', where)
    };
    return 'seq' in obj ? { ...start, seq: integer(obj, 'seq', where) } : start;
  }

  function cellRecord(value: unknown, where: string): ICellRecord {
    const obj = object(value, where);
    const record: { -readonly [K in keyof ICellRecord]: ICellRecord[K] } = {
      ...cellStart(obj, where),
      source: string(obj, 'source', where),
      peak_bytes: bytes(obj, 'peak_bytes', where),
      end_bytes: bytes(obj, 'end_bytes', where),
      status: oneOf(obj, 'status', where, CELL_STATUSES) as CellStatus,
      ended_at: number(obj, 'ended_at', where)
    };
    if (record.peak_bytes < Math.max(record.start_bytes, record.end_bytes)) {
      fail(`${where}.peak_bytes is below start_bytes or end_bytes`);
    }
    for (const key of OPTIONAL_BYTES) {
      if (key in obj) {
        record[key] = bytes(obj, key, where);
      }
    }
    for (const key of ['top_at_peak', 'retained'] as const) {
      if (key in obj) {
        record[key] = siteList(obj[key], `${where}.${key}`);
      }
    }
    return record;
  }

  function fail(reason: string): never {
    throw new ProtocolError(reason);
  }

  function object(value: unknown, where: string): Obj {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail(`${where} must be an object`);
    }
    return value as Obj;
  }

  function field(obj: Obj, key: string, where: string): unknown {
    if (!(key in obj)) {
      fail(`${where} lacks '${key}'`);
    }
    return obj[key];
  }

  function check<T>(ok: boolean, value: unknown, where: string, key: string, what: string): T {
    if (!ok) {
      fail(`${where}.${key} must be ${what}`);
    }
    return value as T;
  }

  function boolean(obj: Obj, key: string, where: string): boolean {
    const v = field(obj, key, where);
    return check(typeof v === 'boolean', v, where, key, 'a boolean');
  }

  function string(obj: Obj, key: string, where: string): string {
    const v = field(obj, key, where);
    return check(typeof v === 'string', v, where, key, 'a string');
  }

  function optionalString(obj: Obj, key: string, where: string): string | null {
    const v = field(obj, key, where);
    return check(v === null || typeof v === 'string', v, where, key, 'a string or null');
  }

  function number(obj: Obj, key: string, where: string): number {
    const v = field(obj, key, where);
    return check(typeof v === 'number' && Number.isFinite(v), v, where, key, 'a number');
  }

  function integer(obj: Obj, key: string, where: string): number {
    const v = field(obj, key, where);
    return check(Number.isSafeInteger(v), v, where, key, 'an integer');
  }

  function optionalInteger(obj: Obj, key: string, where: string): number | null {
    const v = field(obj, key, where);
    return check(v === null || Number.isSafeInteger(v), v, where, key, 'an integer or null');
  }

  function bytes(obj: Obj, key: string, where: string): number {
    const v = field(obj, key, where);
    const ok = Number.isSafeInteger(v) && (v as number) >= 0;
    return check(ok, v, where, key, 'a non-negative integer');
  }

  function oneOf(obj: Obj, key: string, where: string, allowed: ReadonlyArray<string>): string {
    const v = field(obj, key, where);
    const ok = typeof v === 'string' && allowed.includes(v);
    return check(ok, v, where, key, `one of ${allowed.join(', ')}`);
  }
}
