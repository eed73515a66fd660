/**
 * A throttle for redraws: at most one call per interval, the last request never lost, run on an
 * animation frame.
 */

/**
 * Runs a function at most once per `interval` milliseconds however often it is requested; a
 * request made during the wait is served once at its end (trailing), on an animation frame.
 */
export class Throttle {
  /**
   * Construct a throttle.
   *
   * @param fn - what to run.
   * @param options - the interval and, for tests, the clock and timers.
   */
  constructor(fn: () => void, options: Throttle.IOptions) {
    this._fn = fn;
    this.interval = options.interval;
    this._now = options.now ?? (() => Date.now());
    this._setTimer = options.setTimer ?? ((cb, ms) => setTimeout(cb, ms));
    this._clearTimer = options.clearTimer ?? (handle => clearTimeout(handle as ReturnType<typeof setTimeout>));
    this._frame =
      options.frame ??
      (cb => (typeof requestAnimationFrame === 'function' ? requestAnimationFrame(() => cb()) : setTimeout(cb, 0)));
  }

  /**
   * The least time between two runs, in milliseconds.
   */
  interval: number;

  /**
   * Whether a run is scheduled.
   */
  get pending(): boolean {
    return this._pending;
  }

  /**
   * Ask for a run: now (on the next frame) if the last one is `interval` old, else at the end of
   * the interval. Requests while one is pending are merged into it.
   */
  request(): void {
    if (this._pending || this._disposed) {
      return;
    }
    this._pending = true;
    const wait = this._last + this.interval - this._now();
    if (wait <= 0) {
      this._frame(() => this._run());
    } else {
      this._timer = this._setTimer(() => {
        this._timer = null;
        this._frame(() => this._run());
      }, wait);
    }
  }

  /**
   * Drop a pending run.
   */
  cancel(): void {
    if (this._timer !== null) {
      this._clearTimer(this._timer);
      this._timer = null;
    }
    this._pending = false;
  }

  /**
   * Drop a pending run and refuse later requests.
   */
  dispose(): void {
    this.cancel();
    this._disposed = true;
  }

  private _run(): void {
    if (!this._pending || this._disposed) {
      return;
    }
    this._pending = false;
    this._last = this._now();
    this._fn();
  }

  private _fn: () => void;
  private _now: () => number;
  private _setTimer: (cb: () => void, ms: number) => unknown;
  private _clearTimer: (handle: unknown) => void;
  private _frame: (cb: () => void) => void;
  private _timer: unknown = null;
  private _pending = false;
  private _disposed = false;
  private _last = -Infinity;
}

/**
 * A namespace for Throttle statics.
 */
export namespace Throttle {
  /**
   * The options of a throttle.
   */
  export interface IOptions {
    /**
     * The least time between two runs, in milliseconds.
     */
    interval: number;
    /**
     * The clock, in milliseconds (default `Date.now`).
     */
    now?: () => number;
    /**
     * Starts a timer (default `setTimeout`).
     */
    setTimer?: (cb: () => void, ms: number) => unknown;
    /**
     * Stops a timer (default `clearTimeout`).
     */
    clearTimer?: (handle: unknown) => void;
    /**
     * Runs a callback on the next animation frame (default `requestAnimationFrame`).
     */
    frame?: (cb: () => void) => void;
  }
}
