import { HeapModel } from '../model/model';
import { message, statusPayload } from '../testing/fixtures';
import { parseKernelMessage } from '../comm/protocol';
import { releaseMemory } from './release';

function status(model: HeapModel, overrides: { [key: string]: unknown }): void {
  const parsed = parseKernelMessage(message('status', { status: statusPayload(overrides) }));
  if (!parsed.ok) {
    throw new Error(parsed.error);
  }
  model.apply(parsed.message);
}

describe('releaseMemory', () => {
  it('resolves with the kernel’s new `released` answer, not an older one', async () => {
    const model = new HeapModel();
    const old = { rss_before_bytes: 5, rss_after_bytes: 5, released_bytes: 0, at: 1 };
    status(model, { released: old });
    const sent: string[] = [];
    const answer = { rss_before_bytes: 900, rss_after_bytes: 700, released_bytes: 200, at: 2 };
    const promise = releaseMemory({
      model,
      state: 'connected',
      releaseMemory: () => {
        sent.push('release_memory');
        // An unrelated status first (still the old answer), then the answer.
        setTimeout(() => status(model, { released: old }), 0);
        setTimeout(() => status(model, { released: answer }), 5);
        return true;
      }
    });
    expect(await promise).toEqual({ kind: 'released', released: answer });
    expect(sent).toEqual(['release_memory']);
  });

  it('says unsupported when the kernel answers without `released`, and times out', async () => {
    const model = new HeapModel();
    const unsupported = releaseMemory({
      model,
      state: 'connected',
      releaseMemory: () => {
        setTimeout(() => status(model, {}), 0);
        return true;
      }
    });
    expect(await unsupported).toEqual({ kind: 'unsupported' });
    expect(await releaseMemory({ model, state: 'connected', releaseMemory: () => true }, 10)).toEqual({
      kind: 'timeout'
    });
  });

  it('does not ask a kernel that is not heapscope, or none', async () => {
    const model = new HeapModel();
    const never = () => {
      throw new Error('must not send');
    };
    expect(await releaseMemory({ model, state: 'not-heapscope', releaseMemory: never })).toEqual({
      kind: 'not-heapscope'
    });
    expect(await releaseMemory({ model, state: 'no-kernel', releaseMemory: never })).toEqual({ kind: 'no-kernel' });
    expect(await releaseMemory(null)).toEqual({ kind: 'no-kernel' });
    expect(await releaseMemory({ model, state: 'connected', releaseMemory: () => false })).toEqual({
      kind: 'no-kernel'
    });
  });
});
