import { sitePayload } from '../testing/fixtures';
import { canNavigateToFrame, serverRelativePath } from './paths';

describe('canNavigateToFrame', () => {
  const root = '/srv/root';
  const inside = `${root}/work/helper.py`;
  const outside = '/opt/elsewhere/helper.py';
  const fileFrame = (file: string) => sitePayload({ file, cell_id: null, cell_line: null, execution_count: null });
  const where = { hasCell: (id: string) => id === 'here', serverRoot: root, canOpenFiles: true };

  it('allows a line of a cell of this notebook', () => {
    expect(canNavigateToFrame(sitePayload({ cell_id: 'here' }), where)).toBe(true);
  });

  it('allows a file under the server root, and only when files can be opened', () => {
    expect(serverRelativePath(inside, root)).not.toBeNull();
    expect(canNavigateToFrame(fileFrame(inside), where)).toBe(true);
    expect(canNavigateToFrame(fileFrame(inside), { ...where, canOpenFiles: false })).toBe(false);
  });

  it('shows a file outside the root, or a cell of another notebook, as text', () => {
    expect(serverRelativePath(outside, root)).toBeNull();
    expect(canNavigateToFrame(fileFrame(outside), where)).toBe(false);
    expect(canNavigateToFrame(fileFrame('<pymalloc arenas>'), where)).toBe(false);
    // A cell that is not in this notebook, whose kernel file is outside the root.
    expect(canNavigateToFrame(sitePayload({ cell_id: 'gone', file: '/tmp/ipykernel_1/1.py' }), where)).toBe(false);
    expect(canNavigateToFrame(fileFrame(inside), { ...where, serverRoot: '' })).toBe(false);
  });
});
