import { checkBrowserMessage } from '../comm/protocol';
import { configureMessage, readConfiguration, sameConfiguration } from './configuration';

describe('readConfiguration', () => {
  it('reads the profiler configuration with defaults', () => {
    const kernel = { guard: 'kernel', guardHard: null, guardSoft: null };
    expect(readConfiguration({})).toEqual({ mode: 'default', topN: 20, ...kernel });
    expect(readConfiguration({ mode: 'exact', topN: 50 })).toEqual({ mode: 'exact', topN: 50, ...kernel });
    expect(readConfiguration({ mode: 'fast', topN: 0, guard: 'maybe', guardHard: 1.5, guardSoft: 0 })).toEqual({
      mode: 'default',
      topN: 20,
      ...kernel
    });
    expect(readConfiguration({ guard: 'off', guardHard: 0.9, guardSoft: 0.7 })).toMatchObject({
      guard: 'off',
      guardHard: 0.9,
      guardSoft: 0.7
    });
  });

  it('leaves the guard to the kernel unless the settings override it, in a valid configure message', () => {
    const plain = configureMessage(readConfiguration({}));
    expect(plain).toEqual({ type: 'configure', mode: 'default', top_n: 20 });
    const off = configureMessage(readConfiguration({ guard: 'off' }));
    expect(off).toEqual({ type: 'configure', mode: 'default', top_n: 20, guard: false });
    const tuned = configureMessage(readConfiguration({ guard: 'on', guardHard: 0.9, guardSoft: 0.6 }));
    expect(tuned).toEqual({
      type: 'configure',
      mode: 'default',
      top_n: 20,
      guard: true,
      guard_hard: 0.9,
      guard_soft: 0.6
    });
    for (const message of [plain, off, tuned]) {
      expect(checkBrowserMessage({ protocol: 2, ...message })).toBeNull();
    }
  });

  it('tells configurations apart by every field, the guard included', () => {
    const base = readConfiguration({});
    expect(sameConfiguration(base, readConfiguration({}))).toBe(true);
    expect(sameConfiguration(base, readConfiguration({ guard: 'off' }))).toBe(false);
    expect(sameConfiguration(base, readConfiguration({ guardSoft: 0.5 }))).toBe(false);
    expect(sameConfiguration(base, readConfiguration({ topN: 21 }))).toBe(false);
  });
});
