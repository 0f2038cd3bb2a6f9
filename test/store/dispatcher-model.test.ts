/**
 * VenueDispatcher against a reference model, one operation at a time: what next() hands out (the
 * oldest waiting message of each free venue, oldest first, at most `limit`), what is waiting and in
 * processing, when 'ready' is emitted (exactly when a message becomes available), what fail(),
 * release() and resend() do to a venue, and a restart in the middle. The journal is the real SQLite
 * one (in memory); the model only follows the states the journal answers.
 *
 * Venues are PV1-19 numbers; a message without an ordering key (no venue, e.g. an A28 without
 * PV1) is ordered against nothing.
 */
import fc from 'fast-check';
import { VenueDispatcher } from '../../lib/store/dispatcher';
import { JournalError, type InboundInput, type Journal } from '../../lib/store/journal';
import { openSqliteJournal, type SqliteJournal } from '../../lib/store/sqlite';
import { adt } from './fixtures';

const VENUES = ['250100421', '250100422', '250100423', '250100424'];

type Op =
  | { kind: 'accept'; venue: number } // -1: no ordering key
  | { kind: 'duplicate'; pick: number }
  | { kind: 'next'; limit: number }
  | { kind: 'complete'; pick: number }
  | { kind: 'fail'; pick: number }
  | { kind: 'release'; pick: number; mode: 'retry' | 'skip' }
  | { kind: 'resend'; pick: number }
  | { kind: 'startFails'; limit: number }
  | { kind: 'restart' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: VENUES.length - 1 }).map((venue) => ({ kind: 'accept' as const, venue })) },
  { weight: 3, arbitrary: fc.constant({ kind: 'accept' as const, venue: -1 }) },
  { weight: 1, arbitrary: fc.nat(30).map((pick) => ({ kind: 'duplicate' as const, pick })) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 6 }).map((limit) => ({ kind: 'next' as const, limit })) },
  { weight: 4, arbitrary: fc.nat(10).map((pick) => ({ kind: 'complete' as const, pick })) },
  { weight: 1, arbitrary: fc.nat(10).map((pick) => ({ kind: 'fail' as const, pick })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ pick: fc.nat(4), mode: fc.constantFrom('retry' as const, 'skip' as const) })
      .map((r) => ({ kind: 'release' as const, ...r })),
  },
  { weight: 1, arbitrary: fc.nat(30).map((pick) => ({ kind: 'resend' as const, pick })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((limit) => ({ kind: 'startFails' as const, limit })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

function input(controlId: string, venue: number): InboundInput {
  const i = adt(controlId, VENUES[venue] ?? VENUES[0]);
  if (venue < 0) delete i.orderingKey;
  return i;
}

/** The real journal, with start() made to fail once on demand (the disk full when marking). */
function flaky(real: SqliteJournal): { journal: Journal; failNextStart: () => void } {
  let fail = false;
  const journal = new Proxy(real, {
    get: (target, prop) => {
      if (prop === 'start' && fail) {
        fail = false;
        return () => Promise.reject(new JournalError('SQLITE_FULL: database or disk is full', 'STORAGE'));
      }
      const v = (target as any)[prop];
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as unknown as Journal;
  return { journal, failNextStart: () => (fail = true) };
}

class Model {
  /** Waiting ids per key (the dispatcher's queues), ascending. */
  queues = new Map<string, number[]>();
  /** Key → the id in processing. */
  busy = new Map<string, number>();
  /** Held key → its failed id and the HELD ids behind it. */
  held = new Map<string, { failed: number; waiting: number[] }>();
  keyOf = new Map<number, string>();
  finished: number[] = [];
  controlIds: string[] = [];

  key(id: number, orderingKey: string | undefined): string {
    const k = orderingKey ?? `#${id}`;
    this.keyOf.set(id, k);
    return k;
  }
  /** The message each free venue may hand out now, oldest first. */
  available(): number[] {
    const out: number[] = [];
    for (const [k, q] of this.queues) if (q.length && !this.busy.has(k) && !this.held.has(k)) out.push(q[0]);
    return out.sort((a, b) => a - b);
  }
  stored(id: number, state: string, orderingKey: string | undefined): void {
    const k = this.key(id, orderingKey);
    if (state === 'RECEIVED') {
      const q = this.queues.get(k) ?? [];
      q.push(id);
      q.sort((a, b) => a - b);
      this.queues.set(k, q);
    } else if (state === 'HELD') this.held.get(k)!.waiting.push(id);
  }
  take(ids: number[]): void {
    for (const id of ids) {
      const k = this.keyOf.get(id)!;
      this.queues.get(k)!.shift();
      this.busy.set(k, id);
    }
  }
  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }
  inFlight(): number[] {
    return [...this.busy.values()].sort((a, b) => a - b);
  }
}

async function play(ops: Op[]): Promise<void> {
  const real = openSqliteJournal({ file: ':memory:' });
  const { journal, failNextStart } = flaky(real);
  const m = new Model();
  let d = new VenueDispatcher(journal);
  let readies = 0;
  const listen = () => d.on('ready', () => readies++);
  listen();
  expect(await d.load()).toEqual({ resumed: 0, held: 0 });
  let n = 0;
  try {
    for (const o of ops) {
      const before = new Set(m.available());
      readies = 0;
      switch (o.kind) {
        case 'accept': {
          n++;
          const controlId = `MD-${String(n).padStart(4, '0')}`;
          const s = await d.accept(input(controlId, o.venue));
          m.controlIds.push(controlId);
          m.stored(s.storedId, s.state, s.orderingKey);
          break;
        }
        case 'duplicate': {
          if (!m.controlIds.length) continue;
          // the GAP sends the same MSH-10 again (no ACK received): never handed out a second time
          const s = await d.accept(input(m.controlIds[o.pick % m.controlIds.length], 0));
          expect(s.state).toBe('DUPLICATE');
          break;
        }
        case 'next': {
          const expected = m.available().slice(0, o.limit);
          const got = await d.next(o.limit);
          expect(got.map((r) => r.id)).toEqual(expected);
          m.take(expected);
          break;
        }
        case 'startFails': {
          if (!m.available().length) continue;
          failNextStart();
          await expect(d.next(o.limit)).rejects.toThrow('SQLITE_FULL'); // given back, in front of their venues
          break;
        }
        case 'complete': {
          const inFlight = m.inFlight();
          if (!inFlight.length) continue;
          const id = inFlight[o.pick % inFlight.length];
          await d.complete(id);
          m.busy.delete(m.keyOf.get(id)!);
          m.finished.push(id);
          break;
        }
        case 'fail': {
          const inFlight = m.inFlight();
          if (!inFlight.length) continue;
          const id = inFlight[o.pick % inFlight.length];
          const k = m.keyOf.get(id)!;
          const result = await d.fail(id, 'IDB: AMC injoignable (délai dépassé)');
          m.busy.delete(k);
          m.finished.push(id);
          if (k.startsWith('#')) expect(result).toEqual({ waiting: 0 });
          else {
            const waiting = m.queues.get(k) ?? [];
            expect(result).toEqual({ heldKey: k, waiting: waiting.length });
            m.queues.delete(k);
            m.held.set(k, { failed: id, waiting: [...waiting] });
          }
          break;
        }
        case 'release': {
          const keys = [...m.held.keys()].sort();
          if (!keys.length) continue;
          const k = keys[o.pick % keys.length];
          const h = m.held.get(k)!;
          const expected = [...(o.mode === 'retry' ? [h.failed] : []), ...h.waiting.sort((a, b) => a - b)];
          expect(await d.release(k, o.mode)).toEqual(expected);
          m.held.delete(k);
          if (o.mode === 'retry') m.finished.splice(m.finished.indexOf(h.failed), 1);
          if (expected.length) m.queues.set(k, expected);
          break;
        }
        case 'resend': {
          if (!m.finished.length) continue;
          const s = await d.resend(m.finished[o.pick % m.finished.length]);
          m.stored(s.storedId, s.state, s.orderingKey);
          break;
        }
        case 'restart': {
          // the process restarts: what was in processing is handed out again, held venues stay held
          d.removeAllListeners();
          d = new VenueDispatcher(journal);
          listen();
          before.clear();
          for (const [k, id] of m.busy) m.stored(id, 'RECEIVED', k.startsWith('#') ? undefined : k);
          m.busy.clear();
          expect(await d.load()).toEqual({ resumed: m.waiting, held: m.held.size });
          break;
        }
      }
      expect(d.waiting).toBe(m.waiting);
      expect(d.processing).toBe(m.busy.size);
      // 'ready' exactly when a message became available (a processing loop waits for it, no polling)
      const fresh = m.available().some((id) => !before.has(id));
      expect(readies > 0).toBe(fresh);
    }
  } finally {
    await real.close();
  }
}

describe('VenueDispatcher against a reference model', () => {
  it('a venue handed out, failed, released with retry, while another venue and messages without venue flow', async () => {
    await play([
      { kind: 'accept', venue: 0 },
      { kind: 'accept', venue: 1 },
      { kind: 'accept', venue: 0 },
      { kind: 'accept', venue: -1 },
      { kind: 'accept', venue: 1 },
      { kind: 'accept', venue: -1 },
      { kind: 'next', limit: 3 },
      { kind: 'fail', pick: 0 },
      { kind: 'accept', venue: 0 },
      { kind: 'next', limit: 4 },
      { kind: 'complete', pick: 0 },
      { kind: 'complete', pick: 0 },
      { kind: 'next', limit: 4 },
      { kind: 'release', pick: 0, mode: 'retry' },
      { kind: 'startFails', limit: 2 },
      { kind: 'next', limit: 2 },
      { kind: 'restart' },
      { kind: 'next', limit: 4 },
    ]);
  });

  it('property: any sequence of operations matches the model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 50 }), async (ops) => {
        await play(ops);
      }),
      { seed: 612, numRuns: 120 },
    );
  });

  /** The real journal with `over` methods in front (the rest bound to the journal itself). */
  function around(real: SqliteJournal, over: Partial<Record<keyof Journal, unknown>>): Journal {
    return new Proxy(real, {
      get: (target, prop) => {
        if (prop in over) return over[prop as keyof Journal];
        const v = (target as any)[prop];
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as unknown as Journal;
  }

  it('after a restart, a message acknowledged while the dispatcher loads goes after the venue’s earlier ones, each once', async () => {
    const real = openSqliteJournal({ file: ':memory:' });
    try {
      // two messages of the venue acknowledged before the restart, not processed yet
      const before = new VenueDispatcher(real);
      await before.accept(adt('LD-1', VENUES[0]));
      await before.accept(adt('LD-2', VENUES[0]));
      // the listener commits a third between the dispatcher's two reads at start-up
      const gate: { appended?: Promise<unknown> } = {};
      const d = new VenueDispatcher(around(real, { pending: async () => (await gate.appended, real.pending()) }));
      const loading = d.load();
      gate.appended = d.accept(adt('LD-3', VENUES[0]));
      expect(await loading).toEqual({ resumed: 3, held: 0 });
      expect(d.waiting).toBe(3);
      const order: string[] = [];
      for (let b = await d.next(5); b.length; b = await d.next(5)) {
        expect(b).toHaveLength(1); // one at a time for the venue
        order.push(b[0].controlId!);
        await d.complete(b[0].id);
      }
      expect(order).toEqual(['LD-1', 'LD-2', 'LD-3']);
    } finally {
      await real.close();
    }
  });

  it('a message committed after load() already scheduled it wakes nobody a second time', async () => {
    const real = openSqliteJournal({ file: ':memory:' });
    try {
      let loaded!: () => void;
      const gate = new Promise<void>((r) => (loaded = r));
      // the append is committed at once, its answer comes back after the dispatcher has read it
      const d = new VenueDispatcher(around(real, { append: (i: InboundInput) => real.append(i).then(async (s) => (await gate, s)) }));
      let readies = 0;
      d.on('ready', () => readies++);
      const accepted = d.accept(adt('LD-9', VENUES[1]));
      await new Promise((r) => setTimeout(r, 20));
      expect(await d.load()).toEqual({ resumed: 1, held: 0 });
      loaded();
      await accepted;
      expect(readies).toBe(1);
      expect((await d.next(5)).map((m) => m.controlId)).toEqual(['LD-9']);
    } finally {
      await real.close();
    }
  });

  it('a journal that lists a message of a held venue as pending: the venue stays held', async () => {
    const real = openSqliteJournal({ file: ':memory:' });
    try {
      const s = await real.append(adt('HV-1', VENUES[2]));
      const d = new VenueDispatcher(
        around(real, {
          heldKeys: async () => [{ orderingKey: s.orderingKey!, failedId: 999, since: '2026-11-25T09:00:00.000Z', waiting: 1 }],
        }),
      );
      expect(await d.load()).toEqual({ resumed: 1, held: 1 });
      expect(d.waiting).toBe(0);
      expect(await d.next(5)).toEqual([]);
    } finally {
      await real.close();
    }
  });

  it('releasing a venue with nothing behind its skipped message wakes nobody', async () => {
    const real = openSqliteJournal({ file: ':memory:' });
    try {
      const d = new VenueDispatcher(real);
      await d.accept(adt('SK-1', VENUES[3]));
      const [m] = await d.next(1);
      const { heldKey } = await d.fail(m.id, 'IDB: réponse illisible');
      let readies = 0;
      d.on('ready', () => readies++);
      expect(await d.release(heldKey!, 'skip')).toEqual([]);
      expect(readies).toBe(0);
      expect(d.waiting).toBe(0);
    } finally {
      await real.close();
    }
  });

  it('keeps nothing in memory for a venue once its messages are done (venues are per stay: months of them)', async () => {
    const real = openSqliteJournal({ file: ':memory:' });
    try {
      const d = new VenueDispatcher(real);
      for (let i = 0; i < 6; i++) await d.accept(input(`MM-${i}`, i % 2 ? -1 : i % 4));
      for (let b = await d.next(6); b.length; b = await d.next(6)) {
        for (const m of b) {
          if (m.orderingKey) await d.complete(m.id);
          else await d.fail(m.id, 'IDB: AMC injoignable'); // no venue: nothing to hold
        }
      }
      const inside = d as unknown as { queues: Map<string, unknown>; held: Set<string>; busy: Map<string, unknown>; known: Set<number> };
      expect([inside.queues.size, inside.held.size, inside.busy.size, inside.known.size]).toEqual([0, 0, 0, 0]);
    } finally {
      await real.close();
    }
  });

  it('complete() of a message another dispatcher handed out is refused (BAD_STATE), its own venue untouched', async () => {
    const real = openSqliteJournal({ file: ':memory:' });
    try {
      const first = new VenueDispatcher(real);
      const second = new VenueDispatcher(real);
      await first.accept(adt('BS-1', VENUES[0]));
      const [m] = await first.next(1);
      await expect(second.complete(m.id)).rejects.toMatchObject({
        code: 'BAD_STATE',
        message: `message ${m.id} is not in processing here`,
      });
      expect(first.processing).toBe(1);
    } finally {
      await real.close();
    }
  });
});
