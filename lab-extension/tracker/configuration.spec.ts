import { readConfiguration } from './configuration';

describe('readConfiguration', () => {
  it('reads the profiler configuration with defaults', () => {
    expect(readConfiguration({})).toEqual({ mode: 'default', topN: 20 });
    expect(readConfiguration({ mode: 'exact', topN: 50 })).toEqual({ mode: 'exact', topN: 50 });
    expect(readConfiguration({ mode: 'fast', topN: 0 })).toEqual({ mode: 'default', topN: 20 });
  });
});
