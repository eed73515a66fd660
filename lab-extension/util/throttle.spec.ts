import { Throttle } from './throttle';

/** A throttle on a fake clock, with timers and frames run by hand. */
function fakeThrottle(interval: number) {
  let now = 1000;
  const timers: { at: number; cb: () => void }[] = [];
  const frames: (() => void)[] = [];
  const calls: number[] = [];
  const throttle = new Throttle(() => calls.push(now), {
    interval,
    now: () => now,
    setTimer: (cb, ms) => {
      const timer = { at: now + ms, cb };
      timers.push(timer);
      return timer;
    },
    clearTimer: handle => timers.splice(timers.indexOf(handle as any), 1),
    frame: cb => frames.push(cb)
  });
  const advance = (ms: number) => {
    now += ms;
    for (const timer of timers.filter(t => t.at <= now)) {
      timers.splice(timers.indexOf(timer), 1);
      timer.cb();
    }
    frames.splice(0).forEach(cb => cb());
  };
  return { throttle, calls, advance, timers, frames };
}

describe('Throttle', () => {
  it('runs the first request on the next frame', () => {
    const { throttle, calls, advance } = fakeThrottle(250);
    throttle.request();
    expect(calls).toEqual([]);
    advance(0);
    expect(calls).toEqual([1000]);
  });

  it('runs at most once per interval however often asked, and never drops the last request', () => {
    const { throttle, calls, advance } = fakeThrottle(250);
    // 300 cell messages, 10 ms apart (3 s).
    for (let i = 0; i < 300; i++) {
      throttle.request();
      advance(10);
    }
    advance(300);
    expect(calls.length).toBeLessThanOrEqual(3000 / 250 + 1);
    expect(calls.length).toBeGreaterThanOrEqual(3000 / 250 - 1);
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i] - calls[i - 1]).toBeGreaterThanOrEqual(250);
    }
    // The last request (at 3990) was served after it.
    expect(calls[calls.length - 1]).toBeGreaterThanOrEqual(1000 + 2990);
    expect(throttle.pending).toBe(false);
  });

  it('forgets a cancelled request and refuses requests once disposed', () => {
    const { throttle, calls, advance, timers } = fakeThrottle(250);
    throttle.request();
    advance(0);
    throttle.request();
    expect(timers).toHaveLength(1);
    throttle.cancel();
    expect(timers).toHaveLength(0);
    advance(1000);
    expect(calls).toHaveLength(1);
    throttle.dispose();
    throttle.request();
    advance(1000);
    expect(calls).toHaveLength(1);
  });
});
