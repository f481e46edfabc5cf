/**
 * An idle poll's period: `base` while rounds find work, doubling each round that finds nothing,
 * up to `max`. The dispatcher's look for due messages, the webhook worker's fan-out and claim
 * and the campaign runner's claim back off this way; what they are told of (pokes, new events)
 * puts them back at `base` at once.
 */
export class IdleBackoff {
  private current: number;

  constructor(
    private readonly base: number,
    private readonly max: number,
  ) {
    this.current = base;
  }

  /** The period now (ms). */
  get ms(): number {
    return this.current;
  }

  /** After a round: found something, back to `base`; else twice as long, up to `max`. */
  step(found: boolean): void {
    this.current = found ? this.base : Math.max(this.base, Math.min(this.current * 2, this.max));
  }

  /** Work was announced: `base` again. */
  reset(): void {
    this.current = this.base;
  }
}
