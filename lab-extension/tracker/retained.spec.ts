import { HeapModel } from '../model/model';
import { message, statusPayload } from '../testing/fixtures';
import { freshRetained } from './retained';
import type { IHeapSession } from './tokens';

function session(sent: boolean, attribution = true) {
  const model = new HeapModel();
  model.apply(message('status', { status: statusPayload({ attribution }) }) as never);
  const requestRetained = jest.fn(() => sent);
  return { fake: { model, requestRetained } as unknown as IHeapSession, model, requestRetained };
}

describe('freshRetained', () => {
  afterEach(() => jest.useRealTimers());

  it('waits for the kernel’s answer, then stops listening', async () => {
    jest.useFakeTimers();
    const { fake, model, requestRetained } = session(true);
    let resolved = false;
    const waiting = freshRetained(fake).then(() => (resolved = true));
    await Promise.resolve();
    expect(requestRetained).toHaveBeenCalledTimes(1);
    expect(resolved).toBe(false);
    model.apply(message('retained_by_cell', { retained_by_cell: [] }) as never);
    await waiting;
    expect(resolved).toBe(true);
  });

  it('gives up after the timeout when no answer comes', async () => {
    jest.useFakeTimers();
    const { fake } = session(true);
    let resolved = false;
    const waiting = freshRetained(fake, 500).then(() => (resolved = true));
    jest.advanceTimersByTime(499);
    await Promise.resolve();
    expect(resolved).toBe(false);
    jest.advanceTimersByTime(1);
    await waiting;
    expect(resolved).toBe(true);
  });

  it('does not wait when the request cannot be sent or the kernel has no attribution', async () => {
    const unsent = session(false);
    await freshRetained(unsent.fake, 60_000);
    expect(unsent.requestRetained).toHaveBeenCalledTimes(1);
    const plain = session(true, false);
    await freshRetained(plain.fake, 60_000);
    expect(plain.requestRetained).not.toHaveBeenCalled();
  });
});
