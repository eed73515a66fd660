/**
 * Protocol v2 between the in-kernel agent and the browser: a thin layer over the JSON Schemas in
 * `protocol/` (docs/protocol.md is the prose around them).
 *
 * The types are generated from the schemas (json-schema-to-typescript) and the validators are
 * compiled from them ahead of time (ajv standalone): `node protocol/generate.js` writes both into
 * `./generated/`. Nothing here compiles code at run time, so it runs under a strict
 * Content-Security-Policy (JupyterLab, the exported HTML report). {@link parseKernelMessage} never
 * throws: a bad message can only be dropped, never break the panel.
 */
import type * as G from './generated/types';
import * as V from './generated/validators';

/**
 * The protocol version this extension speaks.
 */
export const PROTOCOL_VERSION: G.ProtocolVersion = 2;

/**
 * The comm target the agent registers in the kernel.
 */
export const COMM_TARGET = 'heapscope';

/**
 * `T` with every property and array read-only, all the way down (the generated types are mutable;
 * the extension never changes what the kernel sent).
 */
export type DeepReadonly<T> = T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

type WithoutProtocol<T> = T extends unknown ? Omit<T, 'protocol'> : never;

/**
 * The profiler's state in the kernel (`status` messages and `history.status`): schema `Status`.
 */
export type IProfilerStatus = DeepReadonly<G.Status>;

/**
 * One Python frame of an allocating stack: schema `Frame`.
 */
export type IFrame = DeepReadonly<G.Frame>;

/**
 * Where memory was allocated: schema `Site`.
 */
export type ISite = DeepReadonly<G.Site>;

/**
 * Memory alive now that one cell allocated (runs of one cell id merged): schema `Retained`.
 */
export type IRetained = DeepReadonly<G.Retained>;

/**
 * The profiling modes.
 */
export type ProfilerMode = G.Mode;

/**
 * How a run ended.
 */
export type CellStatus = G.CellStatus;

/**
 * A run that started (`cell_start.cell` and `history.running`): schema `CellStart`.
 */
export type ICellStart = DeepReadonly<G.CellStart>;

/**
 * One finished run of a cell: schema `CellRun`.
 */
export type ICellRun = DeepReadonly<G.CellRun>;

/**
 * @deprecated the glossary's word is "run": use {@link ICellRun}.
 */
export type ICellRecord = ICellRun;

/**
 * One reading of the ticker: `[unix time in seconds, tracked heap in bytes]`.
 */
export type HeapTick = readonly [number, number];

/**
 * @deprecated the glossary's word is "tick": use {@link HeapTick}.
 */
export type HeapSample = HeapTick;

/**
 * The messages the kernel sends, without their `protocol` key.
 */
export type IStatusMessage = DeepReadonly<WithoutProtocol<G.StatusMessage>>;
export type ICellStartMessage = DeepReadonly<WithoutProtocol<G.CellStartMessage>>;
export type ICellMessage = DeepReadonly<WithoutProtocol<G.CellMessage>>;
export type IHistoryMessage = DeepReadonly<WithoutProtocol<G.HistoryMessage>>;
export type ITicksMessage = DeepReadonly<WithoutProtocol<G.TicksMessage>>;
export type IErrorMessage = DeepReadonly<WithoutProtocol<G.ErrorMessage>>;
export type ICellDetailMessage = DeepReadonly<WithoutProtocol<G.CellDetailMessage>>;
export type IRetainedMessage = DeepReadonly<WithoutProtocol<G.RetainedByCellMessage>>;
export type IHoldersProgressMessage = DeepReadonly<WithoutProtocol<G.HoldersProgressMessage>>;
export type IHoldersMessage = DeepReadonly<WithoutProtocol<G.HoldersMessage>>;
export type IHolderReleasedMessage = DeepReadonly<WithoutProtocol<G.HolderReleasedMessage>>;
/**
 * Who holds the heap (answer to a `holders` request; the report's top-level `holders`).
 */
export type IHolders = DeepReadonly<G.Holders>;
export type IHolder = DeepReadonly<G.Holder>;
export type ISharedHolders = DeepReadonly<G.SharedHolders>;

/**
 * Every message the kernel sends.
 */
export type KernelMessage =
  | IStatusMessage
  | ICellStartMessage
  | ICellMessage
  | IHistoryMessage
  | ITicksMessage
  | ICellDetailMessage
  | IRetainedMessage
  | IHoldersProgressMessage
  | IHoldersMessage
  | IHolderReleasedMessage
  | IErrorMessage;

/**
 * Every message the browser sends (protocol/browser.schema.json).
 */
export type BrowserMessage = DeepReadonly<
  | G.SyncRequest
  | G.ClearRequest
  | G.ConfigureRequest
  | G.CellDetailRequest
  | G.RetainedByCellRequest
  | G.HoldersRequest
  | G.ReleaseHolderRequest
  | G.ReleaseMemoryRequest
>;

/**
 * The body of a browser message (everything but `protocol`).
 */
export type BrowserRequest = WithoutProtocol<BrowserMessage>;

/**
 * The report (protocol/report.schema.json).
 */
export type IReport = DeepReadonly<G.Report>;

/**
 * The outcome of {@link parseKernelMessage}.
 */
export type ParseResult =
  { readonly ok: true; readonly message: KernelMessage } | { readonly ok: false; readonly error: string };

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
 * Check a kernel → browser comm payload against protocol/kernel.schema.json.
 *
 * Unknown extra keys are allowed (forward compatibility) and kept; `protocol` is left out of the
 * typed result.
 *
 * @param data - the `data` of a comm message, as received.
 * @returns the typed message, or the first problem found (one line).
 */
export function parseKernelMessage(data: unknown): ParseResult {
  const problem = checkKernelMessage(data);
  if (problem !== null) {
    return { ok: false, error: problem };
  }
  const { protocol: _, ...message } = data as { [key: string]: unknown };
  return { ok: true, message: message as unknown as KernelMessage };
}

/**
 * Check a kernel → browser message.
 *
 * @returns null when valid, else the first problem (one line).
 */
export function checkKernelMessage(data: unknown): string | null {
  return Private.check(data, 'kernel');
}

/**
 * Check a browser → kernel message (what the kernel accepts).
 *
 * @returns null when valid, else the first problem (one line).
 */
export function checkBrowserMessage(data: unknown): string | null {
  return Private.check(data, 'browser');
}

/**
 * Check a report (protocol/report.schema.json).
 *
 * @returns null when valid, else the first problem (one line).
 */
export function checkReport(data: unknown): string | null {
  try {
    if (!Private.validateReport(data)) {
      return Private.describe(Private.validateReport.errors, 'report');
    }
    const cells = (data as { cells: unknown[] }).cells;
    for (let i = 0; i < cells.length; i++) {
      const problem = Private.peakProblem(cells[i], `report.cells[${i}]`);
      if (problem) {
        return problem;
      }
    }
    return null;
  } catch (error) {
    return `could not validate report: ${String(error)}`;
  }
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * A generated validator: true or false, and the errors of the last call.
   */
  export type Validator = ((data: unknown) => boolean) & {
    errors?: ReadonlyArray<{ instancePath: string; message?: string }> | null;
  };

  export const validateKernelMessage = V.validateKernelMessage as Validator;
  export const validateBrowserMessage = V.validateBrowserMessage as Validator;
  export const validateReport = V.validateReport as Validator;

  const KERNEL_TYPES = [
    'status',
    'cell_start',
    'cell',
    'history',
    'ticks',
    'cell_detail',
    'retained_by_cell',
    'holders_progress',
    'holders',
    'holder_released',
    'error'
  ];
  const BROWSER_TYPES = [
    'sync',
    'clear',
    'configure',
    'cell_detail',
    'retained_by_cell',
    'holders',
    'release_holder',
    'release_memory'
  ];
  /**
   * An error message quotes at most this much of the input it refuses.
   */
  const QUOTE = 200;

  /**
   * `protocol` and `type` first (clear messages for the common mistakes), then the schema, then
   * the one rule JSON Schema cannot say.
   */
  export function check(data: unknown, direction: 'kernel' | 'browser'): string | null {
    try {
      if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        return 'a message must be a JSON object';
      }
      const msg = data as { [key: string]: unknown };
      if (msg.protocol !== PROTOCOL_VERSION) {
        return `unsupported protocol ${quote(msg.protocol)} (this extension speaks ${PROTOCOL_VERSION})`;
      }
      const type = msg.type;
      if (typeof type !== 'string') {
        return "'type' must be a string";
      }
      if (!(direction === 'kernel' ? KERNEL_TYPES : BROWSER_TYPES).includes(type)) {
        return `unknown message type ${quote(type)}`;
      }
      const validate = direction === 'kernel' ? validateKernelMessage : validateBrowserMessage;
      if (!validate(data)) {
        return describe(validate.errors, type);
      }
      if (direction === 'kernel') {
        if ((type === 'cell' || type === 'cell_detail') && msg.cell !== null) {
          return peakProblem(msg.cell, 'cell');
        }
        if (type === 'history') {
          const cells = msg.cells as unknown[];
          for (let i = 0; i < cells.length; i++) {
            const problem = peakProblem(cells[i], `cells[${i}]`);
            if (problem) {
              return problem;
            }
          }
        }
      }
      return null;
    } catch (error) {
      return `could not validate message: ${String(error)}`.slice(0, 2 * QUOTE);
    }
  }

  /**
   * The CellRun rule of defs.schema.json that JSON Schema cannot say.
   */
  export function peakProblem(cell: unknown, where: string): string | null {
    const c = cell as { start_bytes: number; peak_bytes: number; end_bytes: number };
    return c.peak_bytes < Math.max(c.start_bytes, c.end_bytes)
      ? `${where}.peak_bytes is below start_bytes or end_bytes`
      : null;
  }

  /**
   * The first of ajv's errors as one line: `cell.cell.peak_bytes must be >= 0`.
   */
  export function describe(errors: Validator['errors'], where: string): string {
    const first = errors?.[0];
    if (!first) {
      return `${where} is invalid`;
    }
    const path = first.instancePath
      .split('/')
      .slice(1)
      .map(part => (/^\d+$/.test(part) ? `[${part}]` : `.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`))
      .join('');
    const text = `${where}${path} ${first.message ?? 'is invalid'}`;
    return text.length <= 2 * QUOTE ? text : `${text.slice(0, 2 * QUOTE)}…[truncated]`;
  }

  function quote(value: unknown): string {
    let text: string;
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
    return text.length <= QUOTE ? text : `${text.slice(0, QUOTE)}…[truncated]`;
  }
}
