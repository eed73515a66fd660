import { CommandRegistry } from '@lumino/commands';
import { Signal } from '@lumino/signaling';
import type { JupyterFrontEnd } from '@jupyterlab/application';

import { CommandIDs } from '../commands';
import { HeapModel } from '../model/model';
import { cellPayload, statusPayload } from '../testing/fixtures';
import type { IHeapTracker } from '../tracker/tokens';
import { PANEL_ID } from './panel';
import { panelPlugin } from './plugin';

jest.mock('plotly.js-dist-min', () => ({
  __esModule: true,
  default: { react: jest.fn(() => Promise.resolve()), purge: jest.fn(), Plots: { resize: jest.fn() } }
}));

/** A front end with only what the plugin uses: commands and a shell (no `ILabShell`). */
function frontEnd(add: (widget: any, area?: string) => void): JupyterFrontEnd {
  return {
    commands: new CommandRegistry(),
    shell: { add: jest.fn(add), activateById: jest.fn() },
    serviceManager: { contents: {} }
  } as unknown as JupyterFrontEnd;
}

const tracker = {
  current: null,
  currentChanged: new Signal<unknown, null>({}),
  configuration: null
} as unknown as IHeapTracker;

/** Activate with every optional token absent. */
function activate(app: JupyterFrontEnd): void {
  void panelPlugin.activate(app, tracker, null, null, null, null, null, null);
}

/** Activate with a tracker whose current session is connected, with a fresh model. */
function activateWithSession(mode: string): { app: JupyterFrontEnd; model: HeapModel } {
  const model = new HeapModel();
  const session = {
    state: 'connected',
    model,
    stateChanged: new Signal<unknown, string>({}),
    disposed: new Signal<unknown, void>({}),
    notebookPanel: { title: { label: 'nb.ipynb', changed: new Signal<unknown, void>({}) }, content: { widgets: [] } },
    sessionContext: { kernelDisplayName: 'Python 3 (heapscope)' },
    requestRetained: jest.fn(),
    requestDetail: jest.fn()
  };
  const withSession = {
    current: session,
    currentChanged: new Signal<unknown, null>({}),
    configuration: { mode, topN: 20 }
  } as unknown as IHeapTracker;
  const app = frontEnd(() => undefined);
  void panelPlugin.activate(app, withSession, null, null, null, null, null, null);
  return { app, model };
}

describe('panelPlugin', () => {
  beforeEach(() => jest.spyOn(console, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('needs no ILabShell and no optional token', () => {
    expect(panelPlugin.requires?.map(token => token.name)).toEqual(['heapscope:IHeapTracker']);
    const added: string[] = [];
    const app = frontEnd((widget, area) => added.push(`${widget.id}@${area}`));
    activate(app);
    expect(added).toEqual([`${PANEL_ID}@right`]);
    expect(app.commands.hasCommand(CommandIDs.showCell)).toBe(true);
  });

  it('keeps its commands when the shell has no right sidebar', async () => {
    const app = frontEnd(() => {
      throw new Error('no right area');
    });
    expect(() => activate(app)).not.toThrow();
    expect(console.warn).toHaveBeenCalled();
    for (const id of [CommandIDs.openPanel, CommandIDs.showCell, CommandIDs.clearHistory, CommandIDs.switchKernel]) {
      expect(app.commands.hasCommand(id)).toBe(true);
    }
    await app.commands.execute(CommandIDs.showRetained);
    expect(app.shell.activateById).toHaveBeenCalledWith(PANEL_ID);
  });

  it('labels the mode button with the kernel’s mode after every status message', () => {
    const { app, model } = activateWithSession('exact');
    const changed: string[] = [];
    app.commands.commandChanged.connect((_, args) => changed.push(args.id ?? ''));
    expect(app.commands.label(CommandIDs.toggleMode)).toBe('Mode: exact');
    model.apply({ type: 'status', status: statusPayload({ mode: 'default', pending_mode: 'exact' }) });
    expect(changed).toContain(CommandIDs.toggleMode);
    expect(app.commands.label(CommandIDs.toggleMode)).toBe('Mode: default → exact');
    changed.length = 0;
    model.apply({ type: 'status', status: statusPayload({ mode: 'exact' }) });
    expect(changed).toContain(CommandIDs.toggleMode);
    expect(app.commands.label(CommandIDs.toggleMode)).toBe('Mode: exact');
  });

  it('tells the commands of a burst of runs once per interval, and of the last run', () => {
    jest.useFakeTimers();
    try {
      const { app, model } = activateWithSession('default');
      const changed: string[] = [];
      app.commands.commandChanged.connect((_, args) => {
        if (args.id === CommandIDs.clearHistory) {
          changed.push(args.id);
        }
      });
      // 100 runs, one every 10 ms (a Run All of small cells): at most one refresh per 250 ms.
      for (let seq = 1; seq <= 100; seq++) {
        model.apply({ type: 'cell', cell: cellPayload({ seq, cell_id: `c${seq}` }) });
        jest.advanceTimersByTime(10);
      }
      const during = changed.length;
      expect(during).toBeGreaterThanOrEqual(3);
      expect(during).toBeLessThanOrEqual(1000 / 250 + 1);
      jest.advanceTimersByTime(1000);
      expect(changed.length).toBe(during + 1); // the burst's end is told too
      expect(app.commands.isEnabled(CommandIDs.clearHistory)).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });
});
