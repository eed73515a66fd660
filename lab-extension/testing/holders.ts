/**
 * Holders payloads for the unit tests (never part of the built extension).
 */
import type { IHolder, IHolders } from '../comm/protocol';
import { sitePayload } from './fixtures';

/** A holder with defaults. */
export function holder(overrides: Partial<IHolder> = {}): IHolder {
  return {
    name: 'a',
    kind: 'variable',
    type: 'numpy.ndarray',
    cell_id: 'c1',
    execution_count: 1,
    bytes: 80_000_112,
    reachable_bytes: 80_000_112,
    sites: [],
    ...overrides
  };
}

/** The answer of the protocol page's example, plus a few more. */
export function holdersPayload(): IHolders {
  return {
    holders: [
      holder({ name: 'Out[4]', kind: 'output', cell_id: 'c4', execution_count: 4, bytes: 100_000_112 }),
      holder({ name: 'big', cell_id: 'c2', execution_count: 2, bytes: 90_000_000, reachable_bytes: 90_000_000 }),
      holder({
        name: 'not reachable from your names',
        kind: 'other',
        type: '',
        cell_id: null,
        execution_count: null,
        bytes: 52_428_800,
        reachable_bytes: 52_428_800
      }),
      holder({
        name: 'last traceback',
        kind: 'traceback',
        type: 'traceback',
        cell_id: null,
        execution_count: null,
        bytes: 150_000_000,
        reachable_bytes: 150_000_000
      }),
      holder({ name: 'a', bytes: 112, reachable_bytes: 80_000_112, sites: [sitePayload()] }),
      holder({
        name: 'v',
        bytes: 112,
        reachable_bytes: 80_000_112,
        cell_id: 'c3',
        execution_count: 3,
        type: 'numpy.ndarray'
      }),
      holder({ name: 'Zed', bytes: 5_000, reachable_bytes: 5_000, cell_id: null, execution_count: null, type: 'dict' })
    ],
    shared: [
      { names: ['a', 'v'], bytes: 80_000_000 },
      { names: ['big', 'Zed'], bytes: 300 }
    ],
    objects: 1661,
    seconds: 0.03,
    at: 1764150000.5
  };
}
