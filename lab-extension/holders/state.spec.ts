import { HeapModel } from '../model/model';
import { parseKernelMessage } from '../comm/protocol';
import type { KernelMessage } from '../comm/protocol';
import { message } from '../testing/fixtures';
import { holdersPayload } from '../testing/holders';
import { HoldersState } from './state';

/** A kernel message, validated as the connection validates it. */
function kernel(type: string, body: { [key: string]: unknown }): KernelMessage {
  const result = parseKernelMessage(message(type, body));
  if (!result.ok) {
    throw new Error(result.error);
  }
  return result.message;
}

describe('HoldersState', () => {
  it('goes from idle to scanning to done, with the progress in between', () => {
    const state = new HoldersState();
    const kinds: string[] = [];
    state.changed.connect((_, kind) => kinds.push(kind));
    expect(state.phase).toBe('idle');
    state.begin();
    expect(state.phase).toBe('scanning');
    expect(state.progress).toBeNull();
    expect(state.apply(kernel('holders_progress', { phase: 'walk', done: 10, total: 20 }))).toBe(true);
    expect(state.progress).toEqual({ phase: 'walk', done: 10, total: 20 });
    state.apply(kernel('holders', { holders: holdersPayload() }));
    expect(state.phase).toBe('done');
    expect(state.progress).toBeNull();
    expect(state.holders?.holders).toHaveLength(7);
    expect(kinds).toEqual(['scan', 'progress', 'result']);
  });

  it('ignores a progress message that comes after the answer', () => {
    const state = new HoldersState();
    state.begin();
    state.apply(kernel('holders', { holders: holdersPayload() }));
    state.apply(kernel('holders_progress', { phase: 'sizes', done: 1, total: 2 }));
    expect(state.progress).toBeNull();
    expect(state.phase).toBe('done');
  });

  it('fails with the kernel’s reason, keeping the previous answer', () => {
    const state = new HoldersState();
    state.begin();
    state.apply(kernel('holders', { holders: holdersPayload() }));
    state.begin();
    state.apply(kernel('holders', { holders: null, reason: 'a cell is running: ask again when it has finished' }));
    expect(state.phase).toBe('failed');
    expect(state.reason).toBe('a cell is running: ask again when it has finished');
    expect(state.holders?.holders).toHaveLength(7);
    state.apply(kernel('holders', { holders: null }));
    expect(state.reason).toBe('the kernel gave no reason');
  });

  it('fails when the request could not be sent', () => {
    const state = new HoldersState();
    state.begin();
    state.fail('no comm');
    expect(state.phase).toBe('failed');
    expect(state.reason).toBe('no comm');
  });

  it('follows a release and the kernel’s answer', () => {
    const state = new HoldersState();
    const kinds: string[] = [];
    state.changed.connect((_, kind) => kinds.push(kind));
    state.beginRelease('Out[4]');
    expect(state.release).toEqual({ name: 'Out[4]', released: null });
    state.apply(kernel('holder_released', { name: 'Out[4]', released: true }));
    expect(state.release).toEqual({ name: 'Out[4]', released: true });
    expect(kinds).toEqual(['release', 'released']);
  });

  it('leaves other messages alone and forgets everything on clear', () => {
    const state = new HoldersState();
    expect(state.apply(kernel('error', { message: 'x' }))).toBe(false);
    state.begin();
    state.apply(kernel('holders', { holders: holdersPayload() }));
    state.clear();
    expect(state.phase).toBe('idle');
    expect(state.holders).toBeNull();
    expect(state.release).toBeNull();
  });
});

describe('HeapModel and holders', () => {
  it('hands the holders messages to its holders state and forgets them when the kernel resets', () => {
    const model = new HeapModel();
    const changes: string[] = [];
    model.changed.connect((_, args) => changes.push(args.kind));
    model.holders.begin();
    model.apply(kernel('holders_progress', { phase: 'walk', done: 1, total: 1 }));
    model.apply(kernel('holders', { holders: holdersPayload() }));
    model.apply(kernel('holder_released', { name: 'Out[4]', released: false }));
    expect(model.holders.phase).toBe('done');
    expect(model.holders.release?.released).toBe(false);
    // The badges and the chart hear nothing of a scan.
    expect(changes).toEqual([]);
    model.clear();
    expect(model.holders.phase).toBe('idle');
    model.dispose();
  });
});
