/**
 * VenueDispatcher when committed messages are offered out of journal order (offer() is public: a
 * listener may offer what several connections stored, in the order their commits resolved; a
 * restart's load() and a release re-offer older ids). Whatever the order of the offers, each venue
 * hands out its oldest waiting message, one at a time, never the same message twice, and an idle
 * next() writes nothing to the journal.
 *
 * Ordering keys are free text from the GAP (PV1-19 and its authority): a key that looks like the
 * dispatcher's own name for a message without venue ('#' + id) is still a venue of its own.
 */
import fc from 'fast-check';
import { VenueDispatcher } from '../../lib/store/dispatcher';
import type { InboundRecord, Journal } from '../../lib/store/journal';

const KEYS = ['590780193/V/250100421', '590780193/V/250100422', '#3', undefined] as const;

/** A journal that only marks and finishes (what next() and complete() call); start([]) is refused. */
function stubJournal() {
  const started: number[][] = [];
  const journal = {
    start: async (ids: number[]) => {
      if (ids.length === 0) throw new Error('start() called with nothing to start: a write for nothing');
      started.push(ids);
      return ids.map((id) => ({ id }) as InboundRecord);
    },
    complete: async () => undefined,
  } as unknown as Journal;
  return { journal, started };
}

type Op = { kind: 'offer'; pick: number; key: number } | { kind: 'next'; limit: number } | { kind: 'complete'; pick: number };

async function play(order: number[], ops: Op[]): Promise<void> {
  const { journal } = stubJournal();
  const d = new VenueDispatcher(journal);
  const keyOf = new Map<number, string>(); // the model's key of each offered id
  const waiting = new Map<string, number[]>();
  const busy = new Map<string, number>();
  const handed = new Set<number>();
  let next = 0; // the next id of `order` to offer
  for (const o of ops) {
    if (o.kind === 'offer') {
      if (next >= order.length) continue;
      const id = order[next++];
      const orderingKey = KEYS[o.key];
      const k = orderingKey === undefined ? `no venue ${id}` : `venue ${orderingKey}`;
      keyOf.set(id, k);
      waiting.set(
        k,
        [...(waiting.get(k) ?? []), id].sort((a, b) => a - b),
      );
      d.offer({ storedId: id, state: 'RECEIVED', orderingKey });
    } else if (o.kind === 'next') {
      const free: number[] = [];
      for (const [k, q] of waiting) if (q.length && !busy.has(k)) free.push(q[0]);
      const expected = free.sort((a, b) => a - b).slice(0, o.limit);
      const got = (await d.next(o.limit)).map((r) => r.id);
      expect(got).toEqual(expected);
      for (const id of got) {
        expect(handed.has(id)).toBe(false);
        handed.add(id);
        const k = keyOf.get(id)!;
        waiting.get(k)!.shift();
        busy.set(k, id);
      }
    } else {
      const inFlight = [...busy.values()].sort((a, b) => a - b);
      if (!inFlight.length) continue;
      const id = inFlight[o.pick % inFlight.length];
      await d.complete(id);
      busy.delete(keyOf.get(id)!);
    }
    expect(d.processing).toBe(busy.size);
    expect(d.waiting).toBe([...waiting.values()].reduce((n, q) => n + q.length, 0));
  }
}

describe('VenueDispatcher: offers out of order', () => {
  it('a venue whose older message is offered after a newer one was handed out and finished hands out its next one once', async () => {
    // 5 then 3 for one venue: 3 goes first, then 5; then 9 arrives: 5's earlier turn in the ready
    // heap is stale and must not hand 5 out a second time.
    await play(
      [5, 3, 9],
      [
        { kind: 'offer', pick: 0, key: 0 },
        { kind: 'offer', pick: 0, key: 0 },
        { kind: 'next', limit: 1 },
        { kind: 'complete', pick: 0 },
        { kind: 'next', limit: 1 },
        { kind: 'complete', pick: 0 },
        { kind: 'offer', pick: 0, key: 0 },
        { kind: 'next', limit: 1 },
      ],
    );
  });

  it("the venue named '#3' and the message 3 without venue are not one queue", async () => {
    await play(
      [3, 7],
      [
        { kind: 'offer', pick: 0, key: 3 }, // message 3, no venue
        { kind: 'offer', pick: 0, key: 2 }, // message 7, venue '#3'
        { kind: 'next', limit: 2 },
      ],
    );
  });

  it('next() with nothing to hand out does not touch the journal', async () => {
    const { journal, started } = stubJournal();
    const d = new VenueDispatcher(journal);
    expect(await d.next(4)).toEqual([]);
    d.offer({ storedId: 1, state: 'RECEIVED', orderingKey: '590780193/V/250100421' });
    d.offer({ storedId: 2, state: 'RECEIVED', orderingKey: '590780193/V/250100421' });
    expect((await d.next(4)).map((r) => r.id)).toEqual([1]);
    expect(await d.next(4)).toEqual([]); // the venue is busy: nothing, and no write
    expect(started).toEqual([[1]]);
  });

  it('property: offers in any order, interleaved with next() and complete(), match the model', async () => {
    const ops = fc.array(
      fc.oneof(
        { weight: 4, arbitrary: fc.record({ kind: fc.constant('offer' as const), pick: fc.nat(), key: fc.nat(KEYS.length - 1) }) },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('next' as const), limit: fc.integer({ min: 1, max: 4 }) }) },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('complete' as const), pick: fc.nat(8) }) },
      ),
      { minLength: 5, maxLength: 60 },
    );
    const order = fc.shuffledSubarray(
      Array.from({ length: 24 }, (_, i) => i + 1),
      { minLength: 24 },
    );
    await fc.assert(
      fc.asyncProperty(order, ops, (o, p) => play(o, p)),
      { seed: 1206, numRuns: 300 },
    );
  });
});
