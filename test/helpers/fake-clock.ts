import type { Clock } from '../../src/ports/clock.js';

/** A clock that moves only when told to. */
export class FakeClock implements Clock {
  constructor(private ms: number = Date.parse('2026-06-01T12:00:00Z')) {}
  nowMs(): number {
    return this.ms;
  }
  monotonicMs(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(iso: string): void {
    this.ms = Date.parse(iso);
  }
}
