// Clients waiting for a free child, first come first served (docs/behaviour.md#admission),
// bounded by the caller with policy/admission.ts. A client a worker handed back goes to the
// front: it was admitted before everyone still in line.
export class OverflowQueue<T> {
  private readonly items: T[] = [];

  get length(): number {
    return this.items.length;
  }

  /** A new client, last in line. */
  push(item: T): void {
    this.items.push(item);
  }

  /** A client that was handed over and came back: first in line. */
  pushFront(item: T): void {
    this.items.unshift(item);
  }

  /** The first in line that `may` pass, removed; undefined when none may. */
  takeFirst(may: (item: T) => boolean): T | undefined {
    const i = this.items.findIndex(may);
    return i < 0 ? undefined : this.items.splice(i, 1)[0];
  }

  /** A client that left (or was refused) while waiting. */
  remove(item: T): boolean {
    const i = this.items.indexOf(item);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** Everyone waiting, in order (the line unchanged). */
  values(): readonly T[] {
    return this.items;
  }

  /** Everyone waiting, in order, and the line emptied. */
  drain(): T[] {
    return this.items.splice(0);
  }
}
