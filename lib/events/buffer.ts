/**
 * A bounded FIFO (ring): at most `capacity` items; a push into a full buffer drops the OLDEST item
 * (the stream keeps the most recent events) and counts it. Never blocks, never grows.
 */
export class BoundedBuffer<T> {
  private readonly items: Array<T | undefined>;
  private head = 0;
  private size = 0;
  /** Items dropped because the buffer was full. */
  dropped = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('BoundedBuffer: capacity must be a positive integer');
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** Adds an item; returns false when an older one was dropped to make room. */
  push(item: T): boolean {
    const tail = (this.head + this.size) % this.capacity;
    if (this.size === this.capacity) {
      this.items[tail] = item; // tail === head: overwrite the oldest
      this.head = (this.head + 1) % this.capacity;
      this.dropped++;
      return false;
    }
    this.items[tail] = item;
    this.size++;
    return true;
  }

  shift(): T | undefined {
    if (!this.size) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return item;
  }

  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.size = 0;
  }
}
