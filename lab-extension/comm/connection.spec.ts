import { Signal } from '@lumino/signaling';

import { HeapConnection } from './connection';
import { KernelMessage } from './protocol';
import { cellPayload, message, statusPayload } from '../testing/fixtures';

/** A comm as the kernel connection hands it out, recording what is sent. */
class FakeComm {
  constructor(readonly targetName: string) {}
  isDisposed = false;
  opened: unknown[] = [];
  sent: unknown[] = [];
  closed = false;
  onMsg: (msg: any) => void = () => undefined;
  onClose: (msg: any) => void = () => undefined;
  open(data: unknown) {
    this.opened.push(data);
    return { done: Promise.resolve() };
  }
  send(data: unknown) {
    this.sent.push(data);
    return { done: Promise.resolve() };
  }
  close() {
    this.closed = true;
    this.isDisposed = true;
    return { done: Promise.resolve() };
  }
  /** The kernel sends a comm message. */
  receive(data: unknown) {
    this.onMsg({ content: { comm_id: 'x', data } });
  }
  /** The kernel closes the comm. */
  kernelClose() {
    this.isDisposed = true;
    this.onClose({ content: { comm_id: 'x', data: {} } });
  }
}

/** A kernel connection with just what HeapConnection uses. */
class FakeKernel {
  constructor(public status: string = 'idle') {}
  isDisposed = false;
  connectionStatus = 'connected';
  connectionStatusChanged = new Signal<this, string>(this);
  setConnectionStatus(status: string) {
    this.connectionStatus = status;
    this.connectionStatusChanged.emit(status);
  }
  comms: FakeComm[] = [];
  createComm(target: string) {
    const comm = new FakeComm(target);
    this.comms.push(comm);
    return comm;
  }
  get lastComm(): FakeComm {
    return this.comms[this.comms.length - 1];
  }
}

/** A session context whose kernel and status the test drives. */
class FakeSessionContext {
  session: { kernel: FakeKernel | null } | null = null;
  kernelChanged = new Signal<this, unknown>(this);
  sessionChanged = new Signal<this, unknown>(this);
  statusChanged = new Signal<this, string>(this);
  setKernel(kernel: FakeKernel | null) {
    this.session = { kernel };
    this.kernelChanged.emit({});
  }
  setStatus(status: string) {
    this.session!.kernel!.status = status;
    this.statusChanged.emit(status);
  }
}

/** A connection on a fake session, with what it emitted. */
function setup(kernel: FakeKernel | null = new FakeKernel()) {
  const context = new FakeSessionContext();
  context.session = { kernel };
  const connection = new HeapConnection({ sessionContext: context as any });
  const messages: KernelMessage[] = [];
  const states: HeapConnection.State[] = [];
  let resets = 0;
  connection.messageReceived.connect((_, msg) => messages.push(msg));
  connection.stateChanged.connect((_, state) => states.push(state));
  connection.kernelReset.connect(() => resets++);
  return { context, connection, kernel, messages, states, resets: () => resets };
}

const HISTORY = message('history', { status: statusPayload(), cells: [cellPayload()], running: null });

describe('HeapConnection', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('opens comm heapscope with sync as open data on a ready kernel', () => {
    const { kernel, connection } = setup();
    expect(kernel!.comms).toHaveLength(1);
    expect(kernel!.lastComm.targetName).toBe('heapscope');
    expect(kernel!.lastComm.opened).toEqual([{ protocol: 2, type: 'sync' }]);
    expect(connection.state).toBe('connecting');
  });

  it('reports no kernel, then opens at once on a new kernel, even before it is idle', () => {
    const { context, connection } = setup(null);
    expect(connection.state).toBe('no-kernel');
    const kernel = new FakeKernel('unknown');
    context.setKernel(kernel);
    expect(kernel.comms).toHaveLength(1);
    expect(connection.state).toBe('connecting');
    context.setStatus('idle');
    expect(kernel.comms).toHaveLength(1);
  });

  it('waits while a kernel restarts', () => {
    const { kernel, context } = setup(new FakeKernel('restarting'));
    expect(kernel!.comms).toHaveLength(0);
    context.setStatus('starting');
    expect(kernel!.comms).toHaveLength(1);
  });

  it('emits valid messages and becomes connected', () => {
    const { kernel, connection, messages } = setup();
    kernel!.lastComm.receive(HISTORY);
    expect(connection.state).toBe('connected');
    expect(messages).toHaveLength(1);
    expect(messages[0].type).toBe('history');
  });

  it('drops invalid messages with a warning', () => {
    const { kernel, connection, messages } = setup();
    kernel!.lastComm.receive({ ...HISTORY, protocol: 1 });
    kernel!.lastComm.receive({ protocol: 2, type: 'cell', cell: { cell_id: 'a' } });
    expect(messages).toEqual([]);
    expect(connection.state).toBe('connecting');
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('sends clear only while connected', () => {
    const { kernel, connection } = setup();
    expect(connection.send('clear')).toBe(false);
    kernel!.lastComm.receive(HISTORY);
    expect(connection.send('clear')).toBe(true);
    expect(kernel!.lastComm.sent).toEqual([{ protocol: 2, type: 'clear' }]);
  });

  it('marks a kernel that closes the comm at once as not heapscope, and does not retry', () => {
    const { kernel, context, connection } = setup();
    kernel!.lastComm.kernelClose();
    expect(connection.state).toBe('not-heapscope');
    context.setStatus('busy');
    context.setStatus('idle');
    expect(kernel!.comms).toHaveLength(1);
  });

  it('re-opens the comm after a restart and announces the reset', () => {
    const { kernel, context, connection, resets } = setup();
    kernel!.lastComm.receive(HISTORY);
    const before = resets();
    context.setStatus('restarting');
    kernel!.lastComm.isDisposed = true; // JupyterLab disposes comms on restart
    expect(resets()).toBe(before + 1);
    expect(connection.state).toBe('connecting');
    expect(kernel!.comms).toHaveLength(1);
    // JupyterLab may report nothing but `starting` after a restart: that is enough.
    context.setStatus('starting');
    expect(kernel!.comms).toHaveLength(2);
    expect(kernel!.lastComm.opened).toEqual([{ protocol: 2, type: 'sync' }]);
    context.setStatus('idle');
    expect(kernel!.comms).toHaveLength(2);
  });

  it('retries a non-heapscope kernel after it restarts', () => {
    const { kernel, context } = setup();
    kernel!.lastComm.kernelClose();
    context.setStatus('autorestarting');
    context.setStatus('unknown');
    expect(kernel!.comms).toHaveLength(2);
  });

  it('follows a kernel change: closes the old comm, opens one on the new kernel', () => {
    const { kernel, context, resets } = setup();
    const old = kernel!.lastComm;
    const before = resets();
    const next = new FakeKernel('idle');
    context.setKernel(next);
    expect(old.closed).toBe(true);
    expect(next.comms).toHaveLength(1);
    expect(resets()).toBe(before + 1);
  });

  it('ignores messages and closes from a comm it replaced', () => {
    const { kernel, context, connection, messages } = setup();
    const old = kernel!.lastComm;
    context.setStatus('restarting');
    context.setStatus('idle');
    old.receive(HISTORY);
    old.onClose({});
    expect(messages).toEqual([]);
    expect(connection.state).toBe('connecting');
  });

  it('reports a comm closed after data as reconnecting', () => {
    const { kernel, connection } = setup();
    kernel!.lastComm.receive(HISTORY);
    kernel!.lastComm.kernelClose();
    expect(connection.state).toBe('reconnecting');
    connection.dispose();
  });

  it('retries an open whose answer never comes, then recovers (a first open dropped on the way)', () => {
    jest.useFakeTimers();
    try {
      const { kernel, connection, messages, states } = setup();
      const dropped = kernel!.lastComm;
      jest.advanceTimersByTime(HeapConnection.OPEN_TIMEOUT_MS - 1);
      expect(kernel!.comms).toHaveLength(1);
      jest.advanceTimersByTime(1);
      expect(connection.state).toBe('reconnecting');
      expect(dropped.closed).toBe(true); // the kernel is told, in case the open did arrive
      jest.advanceTimersByTime(1000);
      expect(kernel!.comms).toHaveLength(2);
      expect(kernel!.lastComm.opened).toEqual([{ protocol: 2, type: 'sync' }]);
      expect(connection.state).toBe('reconnecting');
      kernel!.lastComm.receive(HISTORY);
      expect(connection.state).toBe('connected');
      expect(messages).toHaveLength(1);
      expect(states).toEqual(['reconnecting', 'connected']);
      // A late answer on the dropped comm is ignored.
      dropped.receive(HISTORY);
      expect(messages).toHaveLength(1);
      jest.advanceTimersByTime(60000);
      expect(kernel!.comms).toHaveLength(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps retrying lost opens, backing off to 16 s', () => {
    jest.useFakeTimers();
    try {
      const { kernel, connection } = setup();
      const opensAt: number[] = [];
      let t = 0;
      for (let step = 0; step < 200 && kernel!.comms.length < 8; step++) {
        const before = kernel!.comms.length;
        jest.advanceTimersByTime(500);
        t += 500;
        if (kernel!.comms.length > before) {
          opensAt.push(t);
        }
      }
      const gaps = opensAt.map((at, i) => at - (i === 0 ? 0 : opensAt[i - 1]));
      const timeout = HeapConnection.OPEN_TIMEOUT_MS;
      expect(gaps).toEqual([1000, 2000, 4000, 8000, 16000, 16000, 16000].map(d => d + timeout));
      expect(connection.state).toBe('reconnecting');
      connection.dispose();
      jest.advanceTimersByTime(60000);
      expect(kernel!.comms).toHaveLength(8);
    } finally {
      jest.useRealTimers();
    }
  });

  it('waits, without retrying, while the kernel is busy or its websocket is down', () => {
    jest.useFakeTimers();
    try {
      const { kernel, context, connection } = setup();
      context.setStatus('busy');
      jest.advanceTimersByTime(HeapConnection.OPEN_TIMEOUT_MS * 3);
      expect(kernel!.comms).toHaveLength(1);
      context.setStatus('idle');
      kernel!.setConnectionStatus('connecting');
      jest.advanceTimersByTime(HeapConnection.OPEN_TIMEOUT_MS * 3);
      expect(kernel!.comms).toHaveLength(1);
      expect(connection.state).toBe('connecting');
      kernel!.setConnectionStatus('connected');
      kernel!.lastComm.receive(HISTORY);
      expect(connection.state).toBe('connected');
    } finally {
      jest.useRealTimers();
    }
  });

  it('asks for the history again after the kernel websocket reconnects', () => {
    const { kernel, connection } = setup();
    kernel!.lastComm.receive(HISTORY);
    kernel!.setConnectionStatus('connected'); // no change of connection: nothing to re-sync
    expect(kernel!.lastComm.sent).toEqual([]);
    kernel!.setConnectionStatus('connecting');
    kernel!.setConnectionStatus('connected');
    expect(kernel!.lastComm.sent).toEqual([{ protocol: 2, type: 'sync' }]);
    expect(connection.state).toBe('connected');
    connection.dispose();
  });

  it('reopens a working comm the kernel closed, backing off, and stops on dispose', () => {
    jest.useFakeTimers();
    try {
      const { kernel, connection, messages } = setup();
      kernel!.lastComm.receive(HISTORY);
      kernel!.lastComm.kernelClose();
      expect(kernel!.comms.length).toBe(1);
      jest.advanceTimersByTime(999);
      expect(kernel!.comms.length).toBe(1);
      jest.advanceTimersByTime(1);
      expect(kernel!.comms.length).toBe(2);
      expect(connection.state).toBe('reconnecting');
      expect(kernel!.lastComm.opened).toEqual([{ protocol: 2, type: 'sync' }]);
      kernel!.lastComm.receive(HISTORY);
      expect(connection.state).toBe('connected');
      expect(messages.length).toBe(2);
      // Closed again at once: the next attempt waits twice as long.
      kernel!.lastComm.kernelClose();
      jest.advanceTimersByTime(1999);
      expect(kernel!.comms.length).toBe(2);
      jest.advanceTimersByTime(1);
      expect(kernel!.comms.length).toBe(3);
      kernel!.lastComm.receive(HISTORY);
      kernel!.lastComm.kernelClose();
      connection.dispose();
      jest.advanceTimersByTime(60000);
      expect(kernel!.comms.length).toBe(3);
    } finally {
      jest.useRealTimers();
    }
  });

  it('gives up after five closes in a row within a minute', () => {
    jest.useFakeTimers();
    try {
      const { kernel, connection } = setup();
      for (let i = 0; i < 6; i++) {
        kernel!.lastComm.receive(HISTORY);
        kernel!.lastComm.kernelClose();
        jest.advanceTimersByTime(16000);
      }
      expect(kernel!.comms.length).toBe(6);
      expect(connection.state).toBe('closed');
    } finally {
      jest.useRealTimers();
    }
  });

  it('closes its comm on dispose, idempotently', () => {
    const { kernel, connection } = setup();
    connection.dispose();
    connection.dispose();
    expect(kernel!.lastComm.closed).toBe(true);
    expect(connection.isDisposed).toBe(true);
  });
});
