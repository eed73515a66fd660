import { sitePayload } from '../testing/fixtures';
import { canNavigateToFrame, expandServerRoot, rootNeedsHome, serverRelativePath } from './paths';

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

describe('a server root under $HOME (jupyter_server reports it as ~/…)', () => {
  it('is recognised', () => {
    expect(rootNeedsHome('~')).toBe(true);
    expect(rootNeedsHome('~/work')).toBe(true);
    expect(rootNeedsHome('/srv/root')).toBe(false);
    expect(rootNeedsHome('~bob/work')).toBe(false);
    expect(rootNeedsHome('')).toBe(false);
  });

  it('is expanded with the home directory', () => {
    expect(expandServerRoot('~/work', '/home/ann')).toBe('/home/ann/work');
    expect(expandServerRoot('~/work/', '/home/ann/')).toBe('/home/ann/work');
    expect(expandServerRoot('~', '/home/ann')).toBe('/home/ann');
    expect(expandServerRoot('~', '/')).toBe('/');
    expect(expandServerRoot('/srv/root', '/home/ann')).toBe('/srv/root');
    expect(expandServerRoot('/srv/root', null)).toBe('/srv/root');
  });

  it('gives no root without an absolute home', () => {
    expect(expandServerRoot('~/work', null)).toBe('');
    expect(expandServerRoot('~/work', 'home/ann')).toBe('');
    expect(expandServerRoot('~/work', '/home/\u0000')).toBe('');
  });

  it('makes the files under it navigable, and only those', () => {
    const where = {
      hasCell: () => false,
      serverRoot: expandServerRoot('~/work', '/home/ann'),
      canOpenFiles: true
    };
    const fileFrame = (file: string) => sitePayload({ file, cell_id: null, cell_line: null, execution_count: null });
    expect(serverRelativePath('/home/ann/work/pkg/helper.py', where.serverRoot)).toBe('pkg/helper.py');
    expect(canNavigateToFrame(fileFrame('/home/ann/work/helper.py'), where)).toBe(true);
    expect(canNavigateToFrame(fileFrame('/home/ann/other/helper.py'), where)).toBe(false);
    expect(canNavigateToFrame(fileFrame('/home/bob/work/helper.py'), where)).toBe(false);
    // Unexpanded, as before the fix: nothing is under '~/work'.
    expect(serverRelativePath('/home/ann/work/helper.py', '~/work')).toBeNull();
  });
});

describe('serverRelativePath', () => {
  it('accepts files under the root, by path components', () => {
    expect(serverRelativePath('/srv/root/a/b.py', '/srv/root')).toBe('a/b.py');
    expect(serverRelativePath('/srv/root/./a/../b.py', '/srv/root/')).toBe('b.py');
  });

  it('refuses everything else', () => {
    expect(serverRelativePath('/srv/root2/b.py', '/srv/root')).toBeNull();
    expect(serverRelativePath('/srv/root/../etc/passwd', '/srv/root')).toBeNull();
    expect(serverRelativePath('/srv/root', '/srv/root')).toBeNull();
    expect(serverRelativePath('<frozen runpy>', '/srv/root')).toBeNull();
    expect(serverRelativePath('/srv/root/.venv/x.py', '/srv/root')).toBeNull();
    expect(serverRelativePath('/srv/root/a.py', '')).toBeNull();
  });
});
