import type { IFrame, ISite } from '../comm/protocol';
import { sitePayload } from '../testing/fixtures';
import { DEFAULT_SITE_FILTER, isKernelInternal, NO_SITE_FILTER, partitionSites, readSiteFilter } from './siteFilter';

/** A site whose whole stack is outside cell code, innermost in `file`. */
function fileSite(file: string, bytes: number, outer: IFrame[] = []): ISite {
  const frame: IFrame = { file, line: 10, function: 'f', cell_id: null, cell_line: null, execution_count: null };
  return sitePayload({ ...frame, bytes, count: 1, stack: [frame, ...outer] });
}

const PY = '/usr/lib/python3.11';
const SP = '/srv/.venv/lib/python3.11/site-packages';

describe('isKernelInternal', () => {
  it.each([
    `${SP}/ipykernel/kernelbase.py`,
    `${SP}/zmq/sugar/socket.py`,
    `${SP}/IPython/core/interactiveshell.py`,
    `${PY}/asyncio/base_events.py`,
    `${SP}/tornado/ioloop.py`,
    `${PY}/threading.py`
  ])('recognises %s', file => {
    expect(isKernelInternal(fileSite(file, 1))).toBe(true);
  });

  it.each([`${SP}/numpy/core/numeric.py`, '/home/me/work/helper.py', '<pymalloc arenas>', 'threading.py'])(
    'leaves %s alone',
    file => {
      expect(isKernelInternal(fileSite(file, 1))).toBe(false);
    }
  );

  it('keeps a kernel-internal frame that a cell called (the cell asked for that memory)', () => {
    const cellFrame = sitePayload().stack[0];
    expect(isKernelInternal(fileSite(`${PY}/asyncio/events.py`, 1, [cellFrame]))).toBe(false);
    expect(isKernelInternal(sitePayload())).toBe(false);
  });

  it('does not match a folder by a prefix of its name', () => {
    expect(isKernelInternal(fileSite('/home/me/zmqtools/x.py', 1))).toBe(false);
    expect(isKernelInternal(fileSite('/home/me/my_asyncio/x.py', 1))).toBe(false);
  });
});

describe('partitionSites', () => {
  const base = 100_000_000;
  const big = sitePayload({ bytes: base / 2 });
  const small = sitePayload({ bytes: base * DEFAULT_SITE_FILTER.minShare * 0.5, line: 3, cell_line: 3 });
  const atThreshold = sitePayload({ bytes: base * DEFAULT_SITE_FILTER.minShare, line: 4, cell_line: 4 });
  const internal = fileSite(`${SP}/ipykernel/iostream.py`, base / 4);
  const helper = fileSite('/home/me/helper.py', base / 5);
  const sites = [big, internal, helper, atThreshold, small];

  it('hides sites below the share and kernel internals, keeping the order', () => {
    const { shown, hidden } = partitionSites(sites, base, DEFAULT_SITE_FILTER);
    expect(shown).toEqual([big, helper, atThreshold]);
    expect(hidden).toEqual([internal, small]);
  });

  it('hides nothing with NO_SITE_FILTER or when the base is 0', () => {
    expect(partitionSites(sites, base, NO_SITE_FILTER)).toEqual({ shown: sites, hidden: [] });
    const { shown, hidden } = partitionSites(sites, 0, { ...DEFAULT_SITE_FILTER, hideKernelInternals: false });
    expect(shown).toEqual(sites);
    expect(hidden).toEqual([]);
  });

  it('can keep kernel internals and hide by share only', () => {
    const { shown, hidden } = partitionSites(sites, base, { ...DEFAULT_SITE_FILTER, hideKernelInternals: false });
    expect(shown).toEqual([big, internal, helper, atThreshold]);
    expect(hidden).toEqual([small]);
  });
});

describe('readSiteFilter', () => {
  it('reads the settings and falls back to the defaults', () => {
    expect(readSiteFilter({ hideBelowPercent: 5, hideKernelInternals: false })).toEqual({
      minShare: 0.05,
      hideKernelInternals: false
    });
    expect(readSiteFilter({})).toEqual(DEFAULT_SITE_FILTER);
    expect(readSiteFilter({ hideBelowPercent: -1, hideKernelInternals: 'yes' })).toEqual(DEFAULT_SITE_FILTER);
  });
});
