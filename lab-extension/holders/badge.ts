/**
 * A released output or traceback on the badge of the cell that bound it: after "Release" in the Holders
 * view the memory goes, and the cell that made it says so until it runs again.
 */
import type { CellBadge } from '../badges/badge';
import { formatBytes } from '../format/bytes';
import type { HoldersState } from './state';

/**
 * The badge slot of this decoration.
 */
export const RELEASE_SLOT = 'release';

/**
 * The class of the decoration's node.
 */
export const RELEASED_CLASS = 'jp-heapscope-badge-released';

/**
 * Show (or take away) what was released of the names a cell bound.
 *
 * @param badge - the cell's badge.
 * @param cellId - the cell's id.
 * @param runs - how many runs the cell has now.
 * @param holders - the notebook's holders state.
 */
export function decorateRelease(badge: CellBadge, cellId: string, runs: number, holders: HoldersState): void {
  const released = holders.releasedIn(cellId, runs);
  const key = released ? `${released.name}\u0000${released.bytes}` : '';
  if (badge.decorationKey(RELEASE_SLOT) === key) {
    return;
  }
  if (!released) {
    badge.setDecoration(RELEASE_SLOT, null);
    return;
  }
  const node = document.createElement('span');
  node.className = RELEASED_CLASS;
  // Kernel strings (a holder's name): text only.
  node.textContent = ` · ${released.name} released`;
  const title = `${released.name} was released from the Holders view: about ${formatBytes(released.bytes)} freed.`;
  badge.setDecoration(RELEASE_SLOT, { key, node, title });
}
