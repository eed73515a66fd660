import { defaultExport, lazyLoad } from './lazy';

describe('lazyLoad', () => {
  it('loads once and shares the result', async () => {
    const load = jest.fn(() => Promise.resolve({ value: 1 }));
    const get = lazyLoad(load);
    const [a, b] = await Promise.all([get(), get()]);
    expect(a).toBe(b);
    expect(await get()).toBe(a);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('tries again after a failed load', async () => {
    const load = jest.fn().mockRejectedValueOnce(new Error('offline')).mockResolvedValue('ok');
    const get = lazyLoad(load as () => Promise<string>);
    await expect(get()).rejects.toThrow('offline');
    await expect(get()).resolves.toBe('ok');
    expect(load).toHaveBeenCalledTimes(2);
  });
});

describe('defaultExport', () => {
  it('unwraps an ES module’s default export and passes a CommonJS module through', () => {
    const fn = () => 1;
    expect(defaultExport({ default: fn })).toBe(fn);
    expect(defaultExport(fn)).toBe(fn);
  });
});
