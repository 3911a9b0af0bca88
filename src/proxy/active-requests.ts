/**
 * The requests in flight, as a doubly linked list rather than a Set.
 *
 * Why not a Set: a long-lived Set that gains and loses an entry per request rehashes often, and the
 * dead tables V8 leaves in old space keep the requests they pointed at alive through young GCs. A
 * removed node here clears its own links, so nothing dead points on (figures: bench/gc.ts and the
 * commit that made it).
 */
interface Node<T> {
  value: T;
  prev: Node<T> | undefined;
  next: Node<T> | undefined;
}

/** Where a value sits in the list, to remove it again. */
export type Entry<T> = Node<T>;

export class ActiveRequests<T> {
  private head: Node<T> | undefined;
  private count = 0;
  private readonly waiting: (() => void)[] = [];

  get size(): number {
    return this.count;
  }

  add(value: T): Entry<T> {
    const node: Node<T> = { value, prev: undefined, next: this.head };
    if (this.head) this.head.prev = node;
    this.head = node;
    this.count++;
    return node;
  }

  /** Removes an entry added before; removing it twice is harmless. */
  remove(node: Entry<T>): void {
    if (node.prev) node.prev.next = node.next;
    else if (this.head === node) this.head = node.next;
    else return;
    if (node.next) node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
    this.count--;
    if (this.count === 0 && this.waiting.length > 0) for (const done of this.waiting.splice(0)) done();
  }

  /** Resolves once nothing is in flight, or after `ms`, whichever comes first. */
  drained(ms: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiting.push(done);
    });
  }

  some(predicate: (value: T) => unknown): boolean {
    for (let node = this.head; node; node = node.next) if (predicate(node.value)) return true;
    return false;
  }
}
