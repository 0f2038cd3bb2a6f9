/**
 * VenueDispatcher: hands committed inbound messages out for processing so that, for one ordering
 * key (venue), only one message is in processing at a time, in arrival (journal id) order, while
 * other keys flow on. A failure holds its key (the journal persists the hold); release() lets the
 * key flow again. Messages without an ordering key are not ordered against anything.
 *
 * The scheduling state is in memory and rebuilt from the journal by load() on start: RECEIVED and
 * PROCESSING messages (acknowledged but not processed) resume in order, held keys stay held.
 *
 * Emits 'ready' when new work may be available to next().
 */
import { EventEmitter } from 'events';
import type { HeldKey, InboundInput, InboundRecord, Journal, Stored } from './journal';
import { JournalError } from './journal';

/** Binary min-heap of [id, key], ordered by id. */
class Heap {
  private ids: number[] = [];
  private keys: string[] = [];
  push(id: number, key: string): void {
    const ids = this.ids;
    const keys = this.keys;
    let i = ids.length;
    ids.push(id);
    keys.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (ids[p] <= id) break;
      ids[i] = ids[p];
      keys[i] = keys[p];
      i = p;
    }
    ids[i] = id;
    keys[i] = key;
  }
  pop(): [number, string] | undefined {
    const ids = this.ids;
    const keys = this.keys;
    if (ids.length === 0) return undefined;
    const top: [number, string] = [ids[0], keys[0]];
    const lastId = ids.pop()!;
    const lastKey = keys.pop()!;
    const n = ids.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        // past the end, ids[n] is undefined and `undefined < x` is false: the left child is chosen
        const c = ids[l + 1] < ids[l] ? l + 1 : l;
        if (ids[c] >= lastId) break;
        ids[i] = ids[c];
        keys[i] = keys[c];
        i = c;
      }
      ids[i] = lastId;
      keys[i] = lastKey;
    }
    return top;
  }
}

export class VenueDispatcher extends EventEmitter {
  /** Waiting ids per key, ascending. */
  private readonly queues = new Map<string, number[]>();
  /** Keys with a message in processing → that message's id. */
  private readonly busy = new Map<string, number>();
  /** In-processing id → key. */
  private readonly inFlight = new Map<number, string>();
  private readonly held = new Set<string>();
  private readonly known = new Set<number>();
  private readonly ready = new Heap();

  constructor(readonly journal: Journal) {
    super();
  }

  private static keyOf(id: number, orderingKey: string | undefined): string {
    return orderingKey ? 'k:' + orderingKey : '#' + id;
  }

  /** Rebuilds the schedule from the journal (call once, before taking work). */
  async load(): Promise<{ resumed: number; held: number }> {
    const held = await this.journal.heldKeys();
    for (const h of held) this.held.add(VenueDispatcher.keyOf(0, h.orderingKey));
    const pending = await this.journal.pending();
    for (const p of pending) this.enqueue(p.id, p.orderingKey);
    if (pending.length) this.emit('ready');
    return { resumed: pending.length, held: held.length };
  }

  /** Stores a message (durably) and schedules it. Resolve = commit: then ACK. */
  async accept(input: InboundInput): Promise<Stored> {
    const stored = await this.journal.append(input);
    this.offer(stored);
    return stored;
  }

  /** Schedules a committed message (state RECEIVED); others are ignored. */
  offer(stored: Pick<Stored, 'storedId' | 'state' | 'orderingKey'>): void {
    if (stored.state !== 'RECEIVED') return;
    if (this.enqueue(stored.storedId, stored.orderingKey)) this.emit('ready');
  }

  private enqueue(id: number, orderingKey: string | undefined): boolean {
    if (this.known.has(id)) return false;
    const key = VenueDispatcher.keyOf(id, orderingKey);
    // Stryker disable next-line BooleanLiteral: the journal stores a message of a held key as HELD, never offered; release() unholds before it enqueues
    if (this.held.has(key)) return false;
    this.known.add(id);
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = []));
    // ascending: the newest id (the usual case) stops the loop at once; q[-1] is undefined, `undefined > id` is false
    let i = q.length;
    while (q[i - 1] > id) i--;
    q.splice(i, 0, id);
    if (!this.busy.has(key) && q[0] === id) {
      this.ready.push(id, key);
      return true;
    }
    return false;
  }

  /** Number of messages waiting to be taken (not counting held ones). */
  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  get processing(): number {
    return this.inFlight.size;
  }

  /**
   * Up to `limit` messages to process now, at most one per key, oldest first; they are marked
   * PROCESSING in the journal (attempts + 1) and come with their raw bytes.
   */
  async next(limit = 1): Promise<InboundRecord[]> {
    const ids: number[] = [];
    while (ids.length < limit) {
      const top = this.ready.pop();
      if (!top) break;
      const [id, key] = top;
      const q = this.queues.get(key);
      // Stale entries (key became busy or held, or the head changed) are dropped.
      if (!q || q[0] !== id || this.busy.has(key) || this.held.has(key)) continue;
      q.shift();
      if (q.length === 0) this.queues.delete(key);
      this.busy.set(key, id);
      this.inFlight.set(id, key);
      ids.push(id);
    }
    if (ids.length === 0) return [];
    try {
      return await this.journal.start(ids);
    } catch (e) {
      // Could not mark them: give them back in front of their queues.
      for (const id of ids) this.giveBack(id);
      throw e;
    }
  }

  private giveBack(id: number): void {
    const key = this.inFlight.get(id);
    if (key === undefined) return;
    this.inFlight.delete(id);
    this.busy.delete(key);
    this.known.delete(id);
    const q = this.queues.get(key) ?? [];
    this.queues.set(key, q);
    q.unshift(id);
    this.ready.push(id, key);
  }

  private settle(id: number): string {
    const key = this.inFlight.get(id);
    if (key === undefined) throw new JournalError(`message ${id} is not in processing here`, 'BAD_STATE');
    this.inFlight.delete(id);
    this.busy.delete(key);
    this.known.delete(id);
    return key;
  }

  private wake(key: string): void {
    const q = this.queues.get(key);
    if (q && q.length && !this.held.has(key) && !this.busy.has(key)) {
      this.ready.push(q[0], key);
      this.emit('ready');
    }
  }

  /** The message was processed: the next one for its key may go. */
  async complete(id: number, state: 'DONE' | 'IGNORED' = 'DONE'): Promise<void> {
    await this.journal.complete(id, state);
    this.wake(this.settle(id));
  }

  /** The message failed: error queue, and its key is held (later ones wait in HELD). */
  async fail(id: number, reason: string): Promise<{ heldKey?: string; waiting: number }> {
    const result = await this.journal.fail(id, reason);
    const key = this.settle(id);
    if (result.heldKey !== undefined) {
      this.held.add(key);
      const q = this.queues.get(key);
      if (q) for (const w of q) this.known.delete(w);
      this.queues.delete(key);
    }
    return result;
  }

  heldKeys(): Promise<HeldKey[]> {
    return this.journal.heldKeys();
  }

  /** Lets a held key flow again: `retry` the failed message first, or `skip` it. */
  async release(orderingKey: string, mode: 'retry' | 'skip' = 'retry'): Promise<number[]> {
    const ids = await this.journal.release(orderingKey, mode);
    const key = VenueDispatcher.keyOf(0, orderingKey);
    this.held.delete(key);
    let any = false;
    for (const id of ids) any = this.enqueue(id, orderingKey) || any;
    if (any) this.emit('ready');
    return ids;
  }

  /** Processes a finished message again (a new row, after what is already queued for its key). */
  async resend(id: number): Promise<Stored> {
    const stored = await this.journal.resend(id);
    this.offer(stored);
    return stored;
  }
}
