import { CellBadge } from '../badges/badge';
import { parseKernelMessage } from '../comm/protocol';
import type { KernelMessage } from '../comm/protocol';
import { message } from '../testing/fixtures';
import { holdersPayload } from '../testing/holders';
import { decorateRelease, RELEASED_CLASS } from './badge';
import { HoldersState } from './state';

function kernel(type: string, body: { [key: string]: unknown }): KernelMessage {
  const result = parseKernelMessage(message(type, body));
  if (!result.ok) {
    throw new Error(result.error);
  }
  return result.message;
}

describe('a released holder on its cell’s badge', () => {
  it('shows on the badge of the cell that bound it until that cell runs again', () => {
    const runs = new Map([['c4', 1]]);
    const state = new HoldersState(cellId => runs.get(cellId) ?? 0);
    state.begin();
    state.apply(kernel('holders', { holders: holdersPayload() }));
    expect(state.releasedIn('c4', 1)).toBeNull();
    state.beginRelease('Out[4]');
    state.apply(kernel('holder_released', { name: 'Out[4]', released: true }));
    expect(state.releasedIn('c4', 1)).toEqual({ name: 'Out[4]', bytes: 100_000_112, runs: 1 });
    expect(state.releasedIn('c2', 0)).toBeNull();

    const badge = new CellBadge({ cellId: 'c4' });
    badge.node.title = 'figures';
    decorateRelease(badge, 'c4', 1, state);
    expect(badge.node.querySelector(`.${RELEASED_CLASS}`)?.textContent).toBe(' · Out[4] released');
    expect(badge.node.title).toBe('\nOut[4] was released from the Holders view: about 100 MB freed.');
    // The cell ran again: its badge is about the new run.
    decorateRelease(badge, 'c4', 2, state);
    expect(badge.node.querySelector(`.${RELEASED_CLASS}`)).toBeNull();
    badge.dispose();
  });

  it('says nothing when the kernel released nothing, and forgets on clear', () => {
    const state = new HoldersState(() => 1);
    state.begin();
    state.apply(kernel('holders', { holders: holdersPayload() }));
    state.apply(kernel('holder_released', { name: 'Out[4]', released: false }));
    expect(state.releasedIn('c4', 1)).toBeNull();
    state.apply(kernel('holder_released', { name: 'Out[4]', released: true }));
    expect(state.releasedIn('c4', 1)).not.toBeNull();
    state.clear();
    expect(state.releasedIn('c4', 1)).toBeNull();
  });
});
