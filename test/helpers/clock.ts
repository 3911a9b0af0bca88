import type { Clock } from '../../src/util/clock.js';

/** The tests' one clock: time moves only when a test moves it, so nothing waits on the wall clock. */
export class TestClock implements Clock {
  constructor(public t = Date.now()) {}
  now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}
