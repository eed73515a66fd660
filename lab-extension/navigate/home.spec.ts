import type { Kernel } from '@jupyterlab/services';

import { HOME_EXPRESSION, kernelHome, parseHomeExpression, ServerRoots } from './home';

/** A kernel whose execute reply the test sets; it records the requests. */
function fakeKernel(id: string, reply: unknown) {
  const requests: unknown[] = [];
  const kernel = {
    id,
    requestExecute: (content: unknown) => {
      requests.push(content);
      return { done: reply instanceof Error ? Promise.reject(reply) : Promise.resolve(reply) };
    }
  } as unknown as Kernel.IKernelConnection;
  return { kernel, requests };
}

const okReply = (text: string) => ({
  content: { status: 'ok', user_expressions: { home: { status: 'ok', data: { 'text/plain': text }, metadata: {} } } }
});

describe('parseHomeExpression', () => {
  it('reads a plain repr of an absolute path', () => {
    expect(parseHomeExpression({ status: 'ok', data: { 'text/plain': "'/home/ann'" } })).toBe('/home/ann');
    expect(parseHomeExpression({ status: 'ok', data: { 'text/plain': "'/home/änn ö'" } })).toBe('/home/änn ö');
  });

  it('refuses what it cannot read exactly', () => {
    expect(parseHomeExpression({ status: 'error', ename: 'NameError' })).toBeNull();
    expect(parseHomeExpression({ status: 'ok', data: { 'text/plain': '"/home/it\'s"' } })).toBeNull();
    expect(parseHomeExpression({ status: 'ok', data: { 'text/plain': "'/home/a\\\\b'" } })).toBeNull();
    expect(parseHomeExpression({ status: 'ok', data: { 'text/plain': "'~'" } })).toBeNull();
    expect(parseHomeExpression({ status: 'ok', data: { 'text/plain': 42 } })).toBeNull();
    expect(parseHomeExpression(undefined)).toBeNull();
  });
});

describe('kernelHome', () => {
  it('asks with a silent, history-less request and reads the answer', async () => {
    const { kernel, requests } = fakeKernel('k', okReply("'/home/ann'"));
    await expect(kernelHome(kernel)).resolves.toBe('/home/ann');
    expect(requests).toEqual([
      expect.objectContaining({
        code: '',
        silent: true,
        store_history: false,
        user_expressions: { home: HOME_EXPRESSION }
      })
    ]);
  });

  it('gives null for an error reply or a failed request', async () => {
    await expect(kernelHome(fakeKernel('k', { content: { status: 'error' } }).kernel)).resolves.toBeNull();
    await expect(kernelHome(fakeKernel('k', new Error('dead')).kernel)).resolves.toBeNull();
  });
});

describe('ServerRoots', () => {
  it('passes an absolute root through without asking', () => {
    const ask = jest.fn();
    const roots = new ServerRoots({ ask, onKnown: () => undefined });
    expect(roots.resolve('/srv/root', fakeKernel('k', null).kernel)).toBe('/srv/root');
    expect(ask).not.toHaveBeenCalled();
  });

  it('asks each kernel once for a ~ root, then expands it', async () => {
    const ask = jest.fn((kernel: Kernel.IKernelConnection) => Promise.resolve(kernel.id === 'a' ? '/home/ann' : null));
    const known = jest.fn();
    const roots = new ServerRoots({ ask, onKnown: known });
    const a = fakeKernel('a', null).kernel;
    const b = fakeKernel('b', null).kernel;
    expect(roots.resolve('~/work', a)).toBe('');
    expect(roots.resolve('~/work', a)).toBe('');
    expect(roots.resolve('~/work', b)).toBe('');
    expect(roots.resolve('~/work', null)).toBe('');
    await Promise.resolve();
    await Promise.resolve();
    expect(ask).toHaveBeenCalledTimes(2);
    expect(known).toHaveBeenCalledTimes(2);
    expect(roots.resolve('~/work', a)).toBe('/home/ann/work');
    expect(roots.resolve('~', a)).toBe('/home/ann');
    expect(roots.resolve('~/work', b)).toBe('');
    expect(ask).toHaveBeenCalledTimes(2);
  });
});
