import { CellBadge, badgeTooltip } from '../badges/badge';
import { cellPayload, cellStartPayload, PAYLOADS } from '../testing/fixtures';

describe('the guard on a cell badge', () => {
  const stop = {
    how: 'refused' as const,
    usage_bytes: 15.2e9,
    limit_bytes: 16e9,
    message: 'stopped by heapscope at 15.2 GB of 16 GB'
  };

  it('says a guard stop in the kernel’s words with an icon, as text', () => {
    const badge = new CellBadge({ cellId: 'c' });
    const run = cellPayload({ status: 'guard', guard_stop: { ...stop, message: `${stop.message} ${PAYLOADS[0]}` } });
    badge.setRun(run, [run], 'normal', null, 5, false, 'guard');
    expect(badge.node.dataset.outcome).toBe('guard');
    expect(badge.node.textContent).toBe(
      `+200 MB · peak +200 MB · stopped by heapscope at 15.2 GB of 16 GB ${PAYLOADS[0]}`
    );
    expect(badge.node.querySelector('img')).toBeNull();
    expect(badge.node.querySelectorAll('.jp-heapscope-badge-outcome svg')).toHaveLength(1);
    expect(badge.hasClass('jp-mod-guard')).toBe(true);
    expect(badge.hasClass('jp-mod-error')).toBe(false);
    expect(badgeTooltip([cellPayload({ status: 'guard', guard_stop: stop })]).split('\n')[0]).toMatch(
      /, stopped by heapscope at 15\.2 GB of 16 GB$/
    );
  });

  it('says killed, and turns amber for a warned run or a warned running cell', () => {
    const badge = new CellBadge({ cellId: 'c' });
    const killed = cellPayload({ status: 'killed' });
    badge.setRun(killed, [killed], 'normal', null, 5, false, 'killed');
    expect(badge.node.textContent).toBe('+200 MB · peak +200 MB · killed');
    expect(badge.hasClass('jp-mod-killed')).toBe(true);
    const ok = cellPayload();
    badge.setRun(ok, [ok], 'normal', null, 5, false, 'warn');
    expect(badge.hasClass('jp-mod-memoryWarning')).toBe(true);
    expect(badge.hasClass('jp-mod-killed')).toBe(false);
    badge.setRun(ok, [ok], 'normal', { start: cellStartPayload(), ticks: [[1, 1]] }, 5, false, 'warn');
    expect(badge.hasClass('jp-mod-memoryWarning')).toBe(true);
    badge.setRun(ok, [ok], 'normal', null);
    expect(badge.hasClass('jp-mod-memoryWarning')).toBe(false);
  });
});
