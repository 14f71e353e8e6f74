// The first-come-first-served line of clients waiting for a child in transaction mode
// (docs/transaction-pooling.md#sizing). With a thousand clients on sixteen children nearly
// every transaction waits in it, so the common steps cost O(1): the head leaves by moving
// an index (no array shift), a client leaving from the middle is only marked, and deadlines
// are read by one sweep when the line's single timer fires instead of a timer per waiter.

/** A place in the line: what push() gives, to leave by. */
export interface Place<T> {
  readonly item: T;
  /** performance.now() after which the wait fails; 0 = never. */
  readonly deadline: number;
  gone: boolean;
}

export class WaitLine<T> {
  private places: Array<Place<T>> = [];
  private head = 0;
  private live = 0;

  /** Clients waiting. */
  get length(): number {
    return this.live;
  }

  push(item: T, deadline: number): Place<T> {
    const p: Place<T> = { item, deadline, gone: false };
    this.places.push(p);
    this.live++;
    return p;
  }

  /** The first place in line, still waiting; undefined when nobody waits. */
  first(): Place<T> | undefined {
    this.skipGone();
    return this.live > 0 ? this.places[this.head] : undefined;
  }

  /** Takes the place out of the line wherever it is; false when it had left already. */
  remove(p: Place<T>): boolean {
    if (p.gone) return false;
    p.gone = true;
    this.live--;
    this.skipGone();
    return true;
  }

  /** Takes out and returns, in line order, those whose deadline is at or before `now`. */
  takeExpired(now: number): T[] {
    const expired: Array<Place<T>> = [];
    for (let i = this.head; i < this.places.length; i++) {
      const p = this.places[i];
      if (!p.gone && p.deadline > 0 && p.deadline <= now) expired.push(p);
    }
    for (const p of expired) this.remove(p);
    return expired.map((p) => p.item);
  }

  /** The earliest deadline of anyone waiting (0 when none has one). */
  earliestDeadline(): number {
    let min = 0;
    for (let i = this.head; i < this.places.length; i++) {
      const p = this.places[i];
      if (!p.gone && p.deadline > 0 && (min === 0 || p.deadline < min)) min = p.deadline;
    }
    return min;
  }

  /** Everyone, in line order, and the line emptied. */
  drain(): T[] {
    const out: T[] = [];
    for (let i = this.head; i < this.places.length; i++) {
      const p = this.places[i];
      if (!p.gone) out.push(p.item);
      p.gone = true;
    }
    this.places = [];
    this.head = 0;
    this.live = 0;
    return out;
  }

  /** Moves the head past those who left; the array is compacted once half of it is behind the head. */
  private skipGone(): void {
    const ps = this.places;
    while (this.head < ps.length && ps[this.head].gone) this.head++;
    if (this.head === ps.length) {
      ps.length = 0;
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > ps.length) {
      this.places = ps.slice(this.head);
      this.head = 0;
    }
  }
}
