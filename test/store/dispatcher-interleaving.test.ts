/**
 * VenueDispatcher under traffic as it really comes: messages are accepted while others are being
 * taken and completed, nothing waits for anything else. Whatever the interleaving, one venue never
 * has two messages in processing at once, a venue's messages are processed in arrival order, and
 * every accepted message is processed exactly once.
 *
 * The journal is the real SQLite one (in memory); a thin recorder around it notes, at the moment
 * the dispatcher calls journal.start(), which messages of the same venue are still unsettled
 * (their journal.complete() has not resolved yet): handing one out then is the bug.
 */
import fc from 'fast-check';
import { VenueDispatcher } from '../../lib/store/dispatcher';
import { openSqliteJournal, type SqliteJournal } from '../../lib/store/sqlite';
import type { InboundRecord, Journal } from '../../lib/store/journal';
import { adt } from './fixtures';

/** Records starts and settled completions; flags a start while the venue has an unsettled message. */
function recorder(real: SqliteJournal) {
  const keyOf = new Map<number, string | undefined>();
  const unsettled = new Map<string, Set<number>>(); // venue → started, complete() not resolved
  const startedOrder = new Map<string, number[]>();
  const violations: string[] = [];
  const started = new Set<number>();
  const over: Partial<Journal> = {};
  // every other method runs on the real journal itself
  const journal = new Proxy(real, {
    get: (target, prop) =>
      prop in over
        ? over[prop as keyof Journal]
        : typeof (target as any)[prop] === 'function'
          ? (target as any)[prop].bind(target)
          : (target as any)[prop],
  }) as unknown as Journal;
  over.append = async (input) => {
    const s = await real.append(input);
    keyOf.set(s.storedId, s.orderingKey);
    return s;
  };
  over.start = (ids: number[]) => {
    for (const id of ids) {
      const key = keyOf.get(id);
      if (started.has(id)) violations.push(`message ${id} handed out twice`);
      started.add(id);
      if (key === undefined) continue;
      const busy = unsettled.get(key) ?? new Set<number>();
      if (busy.size) violations.push(`venue ${key}: message ${id} handed out while ${[...busy].join(', ')} still in processing`);
      busy.add(id);
      unsettled.set(key, busy);
      const order = startedOrder.get(key) ?? [];
      if (order.length && order[order.length - 1] > id)
        violations.push(`venue ${key}: message ${id} handed out after ${order[order.length - 1]}`);
      order.push(id);
      startedOrder.set(key, order);
    }
    return real.start(ids);
  };
  over.complete = (id, state) =>
    real.complete(id, state).then((v) => {
      const key = keyOf.get(id);
      if (key !== undefined) unsettled.get(key)?.delete(id);
      return v;
    });
  return { journal, violations, started };
}

const VENUES = ['250100421', '250100422', '250100423'];
type Op = { kind: 'accept'; venue: number } | { kind: 'take'; limit: number } | { kind: 'complete'; pick: number } | { kind: 'tick' };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: VENUES.length - 1 }).map((venue) => ({ kind: 'accept' as const, venue })) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }).map((limit) => ({ kind: 'take' as const, limit })) },
  { weight: 3, arbitrary: fc.nat(10).map((pick) => ({ kind: 'complete' as const, pick })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'tick' as const }) },
);

const tick = () => new Promise<void>((r) => setImmediate(() => setImmediate(r)));

async function play(ops: Op[]): Promise<{ violations: string[]; accepted: number; processed: number[] }> {
  const real = openSqliteJournal({ file: ':memory:' });
  const rec = recorder(real);
  const d = new VenueDispatcher(rec.journal);
  await d.load();
  const inFlight: InboundRecord[] = [];
  const processed: number[] = [];
  const pending: Promise<unknown>[] = [];
  let n = 0;
  const take = (limit: number) =>
    d.next(limit).then((rs) => {
      inFlight.push(...rs);
    });
  const complete = (r: InboundRecord) => {
    processed.push(r.id);
    return d.complete(r.id);
  };
  try {
    for (const o of ops) {
      switch (o.kind) {
        case 'accept':
          n++;
          pending.push(d.accept(adt(`IL-${String(n).padStart(4, '0')}`, VENUES[o.venue])));
          break;
        case 'take':
          pending.push(take(o.limit));
          break;
        case 'complete':
          if (inFlight.length) pending.push(complete(inFlight.splice(o.pick % inFlight.length, 1)[0]));
          break;
        case 'tick':
          await tick();
          break;
      }
    }
    // drain: the traffic stops, the flow finishes what is left
    await Promise.all(pending);
    for (let guard = 0; guard < 10 * (n + 1); guard++) {
      if (processed.length === n) break;
      await take(10);
      await Promise.all(inFlight.splice(0).map(complete));
    }
    return { violations: rec.violations, accepted: n, processed };
  } finally {
    await real.close();
  }
}

describe('VenueDispatcher: accepting and taking interleaved', () => {
  it('a message of a busy venue accepted meanwhile waits until the first is completed', async () => {
    const { violations } = await play([
      { kind: 'accept', venue: 0 },
      { kind: 'tick' },
      { kind: 'take', limit: 5 },
      { kind: 'tick' },
      { kind: 'accept', venue: 0 }, // the GAP sends the next event of the venue during processing
      { kind: 'accept', venue: 1 },
      { kind: 'tick' },
      { kind: 'take', limit: 5 }, // only venue 1 may come out
      { kind: 'tick' },
      { kind: 'complete', pick: 0 },
      { kind: 'take', limit: 5 }, // taken while the completion is being committed
      { kind: 'tick' },
      { kind: 'take', limit: 5 },
    ]);
    expect(violations).toEqual([]);
  });

  it('property: any interleaving keeps one message per venue in processing, in arrival order, each processed once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 60 }), async (ops) => {
        const { violations, accepted, processed } = await play(ops);
        expect(violations).toEqual([]);
        expect(processed).toHaveLength(accepted);
        expect(new Set(processed).size).toBe(accepted);
      }),
      { seed: 1206, numRuns: 150 },
    );
  });
});
