import { Notification } from '@jupyterlab/apputils';

import type { IFrame } from '../comm/protocol';
import { navigateToFrame } from './navigate';

const ROOT = '/home/me/project';
const HERE = 'def make():\n    return bytearray(10**8)  # 100 MB\n';

function frame(source?: string): IFrame {
  return {
    file: `${ROOT}/pkg/mod.py`,
    line: 2,
    function: 'make',
    cell_id: null,
    cell_line: null,
    execution_count: null,
    ...(source === undefined ? {} : { source })
  };
}

/** What navigateToFrame needs, with a server whose `pkg/mod.py` holds `text`. */
function context(text: string | null) {
  const opened: string[] = [];
  const contents = {
    get: jest.fn(async (path: string) => {
      if (text === null || path !== 'pkg/mod.py') {
        throw new Error('404');
      }
      return { content: text };
    })
  };
  const docManager = {
    openOrReveal: jest.fn((path: string) => {
      opened.push(path);
      return {}; // a document widget without a code editor
    })
  };
  return {
    opened,
    context: {
      notebookPanel: { id: 'nb', content: { widgets: [] } } as any,
      activate: () => undefined,
      docManager: docManager as any,
      contents: contents as any,
      serverRoot: ROOT
    }
  };
}

describe('navigateToFrame (a frame of a file, the kernel possibly on another host)', () => {
  let info: jest.SpyInstance;
  beforeEach(() => {
    info = jest.spyOn(Notification, 'info').mockImplementation(() => '');
  });
  afterEach(() => info.mockRestore());

  it('opens the server’s file when its line reads as the kernel read it', async () => {
    const { context: ctx, opened } = context(HERE);
    expect(await navigateToFrame(frame('return bytearray(10**8)  # 100 MB'), ctx)).toBe('file');
    expect(opened).toEqual(['pkg/mod.py']);
  });

  it('never opens another file of the same path: it says where the code is, with its text', async () => {
    const { context: ctx, opened } = context('def make():\n    return None\n');
    expect(await navigateToFrame(frame('return bytearray(10**8)  # 100 MB'), ctx)).toBe('text');
    expect(opened).toEqual([]);
    const said = info.mock.calls[0][0] as string;
    expect(said).toContain('holds other code');
    expect(said).toContain('return bytearray(10**8)');
  });

  it('does not open by path alone (no text from the kernel), nor a file the server does not have', async () => {
    const same = context(HERE);
    expect(await navigateToFrame(frame(), same.context)).toBe('text');
    expect(same.opened).toEqual([]);
    const missing = context(null);
    expect(await navigateToFrame(frame('return bytearray(10**8)  # 100 MB'), missing.context)).toBe('text');
    expect(missing.opened).toEqual([]);
    expect(info.mock.calls[1][0]).toContain('return bytearray(10**8)');
  });
});
