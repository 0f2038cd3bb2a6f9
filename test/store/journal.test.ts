/**
 * The journal as the listener and the processing chain use it: group commit, duplicates,
 * per-venue order with interleaved venues, hold and release/skip, restart resumption, resend,
 * the error-queue browser, the outbound queue and the dossier table.
 */
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { VenueDispatcher } from '../../lib/store/dispatcher';
import { JournalError } from '../../lib/store/journal';
import { SqliteJournal } from '../../lib/store/sqlite';
import { adt } from './fixtures';

let dir: string;
const open: SqliteJournal[] = [];
function journal(options: Partial<ConstructorParameters<typeof SqliteJournal>[0]> = {}): SqliteJournal {
  const j = new SqliteJournal({ file: path.join(dir, 'journal.db'), ...options });
  open.push(j);
  return j;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roc-store-'));
});
afterEach(async () => {
  for (const j of open.splice(0)) await j.close();
  rmSync(dir, { recursive: true, force: true });
});

const VENUE_A = '250100421';
const VENUE_B = '250100422';
const VENUE_C = '250100423';
/** lib/hl7 names the ordering key after its source: PV1-19 here. */
const key = (venue: string) => `PV1-19:${venue}`;

describe('append and group commit', () => {
  it('stores the raw bytes and metadata; concurrent appends share one transaction and keep their arrival order', async () => {
    const j = journal();
    const inputs = Array.from({ length: 300 }, (_, i) => adt(`GC-${i}`, [VENUE_A, VENUE_B, VENUE_C][i % 3]));
    const stored = await Promise.all(inputs.map((m) => j.append(m)));
    expect(j.stats.commits).toBe(1);
    expect(stored.map((s) => s.id)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(stored.every((s) => !s.duplicate && s.state === 'RECEIVED')).toBe(true);

    const rec = await j.get(stored[4].id, { raw: true });
    expect(rec).toMatchObject({
      channel: 'mllp:2575',
      sendingApplication: 'CPAGE',
      sendingFacility: 'CHU-NORD',
      controlId: 'GC-4',
      event: 'ADT^A01',
      charset: 'utf8',
      orderingKey: key(VENUE_B),
      size: inputs[4].raw.length,
      state: 'RECEIVED',
      attempts: 0,
    });
    expect(rec!.raw!.equals(inputs[4].raw)).toBe(true);
    // Without asking for it, no raw bytes (the browser never carries patient data by default).
    expect((await j.get(stored[4].id))!.raw).toBeUndefined();
  });

  it('a maxBatch smaller than the burst splits it into several commits, all resolved', async () => {
    const j = journal({ maxBatch: 50 });
    const stored = await Promise.all(Array.from({ length: 120 }, (_, i) => j.append(adt(`MB-${i}`, VENUE_A))));
    expect(stored).toHaveLength(120);
    expect(j.stats.commits).toBe(3);
    expect(j.stats.largestBatch).toBe(50);
  });

  it('refuses bad input with a clear error, without disturbing the rest of the batch', async () => {
    const j = journal();
    const good = j.append(adt('OK-1', VENUE_A));
    await expect(j.append({ raw: 'MSH|…' as unknown as Buffer, channel: 'mllp:2575' })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(j.append({ raw: Buffer.from('x'), channel: '' })).rejects.toThrow(/channel/);
    const completeUnknown = j.complete(999);
    await expect(completeUnknown).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await good).id).toBe(1);
    await j.close();
    await expect(j.append(adt('LATE', VENUE_A))).rejects.toBeInstanceOf(JournalError);
  });

  it('close() commits what is still queued (windowMs) before closing', async () => {
    const file = path.join(dir, 'journal.db');
    const j1 = new SqliteJournal({ file, windowMs: 10_000 });
    const pending = j1.append(adt('CLOSE-1', VENUE_A));
    await j1.close();
    expect((await pending).id).toBe(1);
    const j2 = journal({ file });
    expect((await j2.get(1))!.controlId).toBe('CLOSE-1');
  });

  it('the dispatcher says when work is ready, so a processing loop needs no polling', async () => {
    const j = journal();
    const d = new VenueDispatcher(j);
    const seen: string[] = [];
    d.on('ready', () => {
      void d.next(10).then(async (batch) => {
        for (const m of batch) {
          seen.push(m.controlId!);
          await d.complete(m.id);
        }
      });
    });
    await d.accept(adt('RDY-1', VENUE_A));
    await d.accept(adt('RDY-2', VENUE_A));
    await d.accept(adt('RDY-3', VENUE_B));
    for (let i = 0; i < 50 && (await j.counts()).DONE < 3; i++) await new Promise((r) => setImmediate(r));
    expect(seen.filter((c) => c !== 'RDY-3')).toEqual(['RDY-1', 'RDY-2']);
    expect([...seen].sort()).toEqual(['RDY-1', 'RDY-2', 'RDY-3']);
    expect((await j.counts()).DONE).toBe(3);
  });

  it('an unknown event is stored as IGNORED and never dispatched', async () => {
    const j = journal();
    const d = new VenueDispatcher(j);
    const ignored = await d.accept(adt('IGN-1', VENUE_A, { event: 'A60' }));
    expect(ignored.state).toBe('IGNORED');
    expect(await d.next(10)).toEqual([]);
  });
});

describe('duplicates (same sender, same MSH-10)', () => {
  it('answers the earlier id with duplicate: true, keeps the copy, and processes the message once', async () => {
    const j = journal();
    const d = new VenueDispatcher(j);
    const first = await d.accept(adt('DUP-1', VENUE_A));
    const again = await d.accept(adt('DUP-1', VENUE_A));
    expect(again).toMatchObject({ id: first.id, duplicate: true, state: 'DUPLICATE' });
    expect(again.storedId).not.toBe(first.id);
    expect(await j.get(again.storedId)).toMatchObject({ state: 'DUPLICATE', duplicateOf: first.id });

    // Another sender may reuse the same MSH-10.
    const other = await d.accept(adt('DUP-1', VENUE_B, { sender: 'PASTEL' }));
    expect(other.duplicate).toBe(false);

    // Duplicates in one batch are caught too.
    const [x, y] = await Promise.all([j.append(adt('DUP-2', VENUE_C)), j.append(adt('DUP-2', VENUE_C))]);
    expect(x.duplicate).toBe(false);
    expect(y).toMatchObject({ id: x.id, duplicate: true });

    const taken = await d.next(10);
    expect(taken.map((m) => m.controlId).sort()).toEqual(['DUP-1', 'DUP-1']);
    expect(taken.map((m) => m.sendingApplication).sort()).toEqual(['CPAGE', 'PASTEL']);
    // After processing, the sender's retransmission is still a duplicate.
    for (const m of taken) await d.complete(m.id);
    expect((await d.accept(adt('DUP-1', VENUE_A))).duplicate).toBe(true);
    expect(await d.next(10)).toEqual([]);
  });
});

describe('duplicate window', () => {
  it('with duplicateWindowMs, a control id reused after the window is a new message', async () => {
    let clock = Date.parse('2026-03-02T08:00:00Z');
    const j = journal({ now: () => clock, duplicateWindowMs: 7 * 86400_000 });
    const first = await j.append(adt('CTR-000001', VENUE_A));
    clock += 86400_000;
    expect((await j.append(adt('CTR-000001', VENUE_A))).duplicate).toBe(true);
    clock += 30 * 86400_000; // the GAP was reinstalled and restarted its counter
    const reused = await j.append(adt('CTR-000001', VENUE_B));
    expect(reused).toMatchObject({ duplicate: false, state: 'RECEIVED' });
    expect(reused.id).not.toBe(first.id);
    expect((await j.append(adt('CTR-000001', VENUE_B))).id).toBe(reused.id);
  });
});

describe('per-venue order', () => {
  it('with interleaved venues, one message per venue at a time, each venue in arrival order, venues independent', async () => {
    const j = journal();
    const d = new VenueDispatcher(j);
    const plan = [VENUE_A, VENUE_B, VENUE_A, VENUE_C, VENUE_A, VENUE_B, VENUE_C, VENUE_A];
    const stored = [];
    for (let i = 0; i < plan.length; i++) stored.push(await d.accept(adt(`ORD-${i}`, plan[i])));

    const processed: Record<string, string[]> = {};
    const inProcess = new Set<string>();
    let rounds = 0;
    for (;;) {
      const batch = await d.next(10);
      if (batch.length === 0) break;
      rounds++;
      const keys = batch.map((m) => m.orderingKey!);
      expect(new Set(keys).size).toBe(keys.length); // never two of one venue together
      for (const m of batch) {
        expect(inProcess.has(m.orderingKey!)).toBe(false);
        inProcess.add(m.orderingKey!);
        expect(m.state).toBe('PROCESSING');
        expect(m.attempts).toBe(1);
        expect(m.raw!.length).toBe(m.size);
      }
      // Finish them in reverse order: the order of completion must not matter.
      for (const m of [...batch].reverse()) {
        (processed[m.orderingKey!] ??= []).push(m.controlId!);
        inProcess.delete(m.orderingKey!);
        await d.complete(m.id);
      }
    }
    expect(processed[key(VENUE_A)]).toEqual(['ORD-0', 'ORD-2', 'ORD-4', 'ORD-7']);
    expect(processed[key(VENUE_B)]).toEqual(['ORD-1', 'ORD-5']);
    expect(processed[key(VENUE_C)]).toEqual(['ORD-3', 'ORD-6']);
    expect(rounds).toBe(4); // venue A has four messages: four rounds, B and C ride along
    expect((await j.counts()).DONE).toBe(8);
  });

  it('a venue blocked by a slow message does not slow the others', async () => {
    const j = journal();
    const d = new VenueDispatcher(j);
    await d.accept(adt('SLOW-1', VENUE_A));
    await d.accept(adt('SLOW-2', VENUE_A));
    await d.accept(adt('FAST-1', VENUE_B));
    await d.accept(adt('FAST-2', VENUE_B));
    const [slow, fast1] = await d.next(10);
    expect([slow.controlId, fast1.controlId]).toEqual(['SLOW-1', 'FAST-1']);
    await d.complete(fast1.id);
    const [fast2] = await d.next(10);
    expect(fast2.controlId).toBe('FAST-2'); // SLOW-2 still waits for SLOW-1
    await d.complete(fast2.id);
    expect(await d.next(10)).toEqual([]);
    await d.complete(slow.id);
    expect((await d.next(10)).map((m) => m.controlId)).toEqual(['SLOW-2']);
  });
});

describe('hold, release, skip, resend', () => {
  async function failFirstOfA(j: SqliteJournal, d: VenueDispatcher) {
    await d.accept(adt('A-1', VENUE_A));
    await d.accept(adt('A-2', VENUE_A));
    await d.accept(adt('B-1', VENUE_B));
    await d.accept(adt('A-3', VENUE_A));
    const [a1, b1] = await d.next(10);
    const result = await d.fail(a1.id, 'IDB: AMC injoignable (délai dépassé)');
    await d.complete(b1.id);
    return { a1, result };
  }

  it('a failure holds its venue (later messages HELD, visible) while other venues flow', async () => {
    const j = journal();
    const d = new VenueDispatcher(j);
    const { a1, result } = await failFirstOfA(j, d);
    expect(result).toEqual({ heldKey: key(VENUE_A), waiting: 2 });

    const b2 = await d.accept(adt('B-2', VENUE_B));
    const a4 = await d.accept(adt('A-4', VENUE_A));
    expect(b2.state).toBe('RECEIVED');
    expect(a4.state).toBe('HELD');
    expect((await d.next(10)).map((m) => m.controlId)).toEqual(['B-2']);

    const held = await d.heldKeys();
    expect(held).toEqual([
      { orderingKey: key(VENUE_A), failedId: a1.id, since: expect.any(String), reason: 'IDB: AMC injoignable (délai dépassé)', waiting: 3 },
    ]);
    expect(await j.get(a1.id)).toMatchObject({ state: 'FAILED', lastError: 'IDB: AMC injoignable (délai dépassé)', attempts: 1 });
    expect((await j.browse({ states: ['HELD'] })).map((m) => m.controlId)).toEqual(['A-2', 'A-3', 'A-4']);
  });

  it('release with retry: the failed message goes first, then the held ones in order', async () => {
    const j = journal();
    const d = new VenueDispatcher(j);
    const { a1 } = await failFirstOfA(j, d);
    const ids = await d.release(key(VENUE_A), 'retry');
    expect(ids[0]).toBe(a1.id);
    expect(await d.heldKeys()).toEqual([]);
    const order: string[] = [];
    for (let m = await d.next(10); m.length; m = await d.next(10)) {
      expect(m).toHaveLength(1);
      order.push(m[0].controlId!);
      if (m[0].id === a1.id) expect(m[0].attempts).toBe(2);
      await d.complete(m[0].id);
    }
    expect(order).toEqual(['A-1', 'A-2', 'A-3']);
  });

  it('release with skip: the failed message stays in the error queue as SKIPPED, the venue moves on', async () => {
    const j = journal();
    const d = new VenueDispatcher(j);
    const { a1 } = await failFirstOfA(j, d);
    await d.release(key(VENUE_A), 'skip');
    expect((await j.get(a1.id))!.state).toBe('SKIPPED');
    expect((await d.next(10)).map((m) => m.controlId)).toEqual(['A-2']);
    await expect(d.release(key(VENUE_A))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('resend processes a finished message again, after what is already queued for its venue', async () => {
    const j = journal();
    const d = new VenueDispatcher(j);
    const first = await d.accept(adt('RS-1', VENUE_A));
    const [m] = await d.next(1);
    await d.complete(m.id);
    await d.accept(adt('RS-2', VENUE_A));
    await expect(d.resend(999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const again = await d.resend(first.id);
    expect(again).toMatchObject({ duplicate: false, state: 'RECEIVED' });
    expect(await j.get(again.id)).toMatchObject({ controlId: 'RS-1', resendOf: first.id });
    const order: string[] = [];
    for (let b = await d.next(10); b.length; b = await d.next(10)) {
      for (const x of b) {
        order.push(x.controlId!);
        await d.complete(x.id);
      }
    }
    expect(order).toEqual(['RS-2', 'RS-1']);
    // A message still waiting cannot be resent.
    const w = await d.accept(adt('RS-3', VENUE_A));
    await expect(d.resend(w.id)).rejects.toMatchObject({ code: 'BAD_STATE' });
  });
});

describe('restart', () => {
  it('acknowledged but unprocessed messages resume in order; held venues stay held', async () => {
    const file = path.join(dir, 'journal.db');
    const j1 = new SqliteJournal({ file });
    const d1 = new VenueDispatcher(j1);
    for (const [c, v] of [
      ['R-A1', VENUE_A],
      ['R-B1', VENUE_B],
      ['R-A2', VENUE_A],
      ['R-C1', VENUE_C],
      ['R-B2', VENUE_B],
      ['R-A3', VENUE_A],
      ['R-C2', VENUE_C],
    ]) {
      await d1.accept(adt(c, v));
    }
    const [a1, b1, c1] = await d1.next(10);
    await d1.complete(a1.id); // A-1 done; A-2 next
    await d1.fail(c1.id, 'CLC: réponse illisible'); // C held
    expect(b1.controlId).toBe('R-B1'); // B-1 left PROCESSING: the "crash" happens now
    await j1.close();

    const j2 = journal({ file });
    const d2 = new VenueDispatcher(j2);
    expect(await d2.load()).toEqual({ resumed: 4, held: 1 }); // R-A2 R-A3 R-B1 R-B2 (R-C2 is HELD)
    const order: string[] = [];
    for (let b = await d2.next(10); b.length; b = await d2.next(10)) {
      for (const m of b) {
        order.push(m.controlId!);
        await d2.complete(m.id);
      }
    }
    expect(order).toEqual(['R-B1', 'R-A2', 'R-B2', 'R-A3']);
    expect((await j2.get(b1.id))!.attempts).toBe(2);
    expect((await d2.heldKeys()).map((h) => [h.orderingKey, h.waiting])).toEqual([[key(VENUE_C), 1]]);
    await d2.release(key(VENUE_C), 'retry');
    expect((await d2.next(10)).map((m) => m.controlId)).toEqual(['R-C1']);
  });
});

describe('error queue browser', () => {
  it('finds failed messages by state, venue and date, newest first, without raw bytes', async () => {
    let clock = Date.parse('2026-03-02T08:00:00Z');
    const j = journal({ now: () => clock });
    const d = new VenueDispatcher(j);
    for (let i = 0; i < 6; i++) {
      clock += 3600_000;
      await d.accept(adt(`EQ-${i}`, [VENUE_A, VENUE_B, VENUE_C][i % 3]));
    }
    const taken = await d.next(10);
    for (const m of taken) await d.fail(m.id, `IDB: erreur technique 0999 (${m.controlId})`);

    const failed = await j.browse({ states: ['FAILED'], order: 'desc' });
    expect(failed.map((m) => m.controlId)).toEqual(['EQ-2', 'EQ-1', 'EQ-0']);
    for (const m of failed) {
      expect(m.raw).toBeUndefined();
      expect(JSON.stringify(m)).not.toMatch(/LEFÈVRE|Hélène|285075935012324|19850714/);
    }
    expect((await j.browse({ states: ['FAILED', 'HELD'], orderingKey: key(VENUE_B) })).map((m) => [m.controlId, m.state])).toEqual([
      ['EQ-1', 'FAILED'],
      ['EQ-4', 'HELD'],
    ]);
    const from = new Date('2026-03-02T10:30:00Z');
    const to = new Date('2026-03-02T13:30:00Z');
    expect((await j.browse({ from, to })).map((m) => m.controlId)).toEqual(['EQ-2', 'EQ-3', 'EQ-4']);
    expect((await j.browse({ limit: 2, afterId: 2 })).map((m) => m.id)).toEqual([3, 4]);
    await expect(j.browse({ states: ['LOST' as never] })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(await j.counts()).toMatchObject({ FAILED: 3, HELD: 3, DONE: 0 });
  });
});

describe('outbound queue', () => {
  const GAP = 'gap:mllp:cpage';
  const ack = (s: string) => Buffer.from(`MSH|^~\\&|ROC-BRIDGE|CHU-NORD|CPAGE|CHU-NORD|||ACK^A01|${s}|P|2.5\rMSA|AA|${s}\r`);

  it('delivers in order per venue, retries with backoff, then parks the message in ERROR (blocking only its venue)', async () => {
    let clock = Date.parse('2026-03-02T08:00:00Z');
    const j = journal({ now: () => clock, maxAttempts: 3, backoff: { baseMs: 1000, factor: 2, maxMs: 60_000 } });
    const a1 = await j.enqueue({ destination: GAP, orderingKey: VENUE_A, payload: ack('1') });
    const a2 = await j.enqueue({ destination: GAP, orderingKey: VENUE_A, payload: ack('2') });
    const b1 = await j.enqueue({ destination: GAP, orderingKey: VENUE_B, payload: ack('3') });
    await j.enqueue({ destination: 'autre', orderingKey: VENUE_A, payload: ack('4') });

    let sent = await j.take(GAP, 10);
    expect(sent.map((m) => m.id)).toEqual([a1.id, b1.id]);
    expect(sent[0]).toMatchObject({ state: 'SENT', attempts: 1 });
    expect(sent[0].payload!.toString()).toContain('MSA|AA|1');
    await j.acked(b1.id);

    let r = await j.sendFailed(a1.id, 'connexion refusée');
    expect(r).toMatchObject({ state: 'QUEUED', attempts: 1, lastError: 'connexion refusée', nextAttemptAt: '2026-03-02T08:00:01.000Z' });
    expect(await j.take(GAP, 10)).toEqual([]); // not due yet, and a2 waits behind a1
    clock += 1000;
    sent = await j.take(GAP, 10);
    expect(sent.map((m) => m.id)).toEqual([a1.id]);
    r = await j.sendFailed(a1.id, 'connexion refusée');
    expect(r.nextAttemptAt).toBe('2026-03-02T08:00:03.000Z'); // 2 s after the 2nd failure
    clock += 2000;
    await j.take(GAP, 10);
    r = await j.sendFailed(a1.id, 'délai dépassé');
    expect(r).toMatchObject({ state: 'ERROR', attempts: 3, lastError: 'délai dépassé' });

    clock += 3600_000;
    expect(await j.take(GAP, 10)).toEqual([]); // a2 waits behind the parked a1
    expect((await j.browseOutbound({ states: ['ERROR'] })).map((m) => m.id)).toEqual([a1.id]);
    await j.requeue(a1.id);
    expect((await j.take(GAP, 10)).map((m) => m.id)).toEqual([a1.id]);
    await j.acked(a1.id);
    expect((await j.take(GAP, 10)).map((m) => m.id)).toEqual([a2.id]);
    await expect(j.acked(a1.id)).rejects.toMatchObject({ code: 'BAD_STATE' });
  });

  it('a message SENT when the process stopped is sent again after restart; cancel unblocks its venue', async () => {
    const file = path.join(dir, 'journal.db');
    const j1 = new SqliteJournal({ file });
    const a1 = await j1.enqueue({ destination: GAP, orderingKey: VENUE_A, payload: ack('1') });
    const a2 = await j1.enqueue({ destination: GAP, orderingKey: VENUE_A, payload: ack('2') });
    await j1.take(GAP, 10);
    await j1.close();
    const j2 = journal({ file });
    expect((await j2.getOutbound(a1.id))!.state).toBe('QUEUED');
    await j2.cancel(a1.id);
    expect((await j2.take(GAP, 10)).map((m) => m.id)).toEqual([a2.id]);
  });
});

describe('outbound recovery with two journal instances on one file', () => {
  it('an instance opened with recoverSentOnOpen: false leaves the live sender alone; recoverOutbound requeues one destination', async () => {
    const file = path.join(dir, 'journal.db');
    const sender = journal({ file });
    const a = await sender.enqueue({ destination: 'gap:1', orderingKey: 'PV1-19:250100421', payload: Buffer.from('MSA|AA|1') });
    const b = await sender.enqueue({ destination: 'gap:2', orderingKey: 'PV1-19:250100421', payload: Buffer.from('MSA|AA|2') });
    await sender.take('gap:1');
    await sender.take('gap:2');
    const listener = journal({ file, recoverSentOnOpen: false });
    expect((await listener.getOutbound(a.id))!.state).toBe('SENT');
    await sender.acked(a.id); // the ACK still lands
    expect(await sender.recoverOutbound('gap:2')).toBe(1);
    expect((await sender.getOutbound(b.id))!.state).toBe('QUEUED');
    expect((await sender.getOutbound(a.id))!.state).toBe('ACKED');
  });
});

describe('dossiers, engagements and service exchanges', () => {
  it('keeps the latest msg.roc per venue and the engagement numbers; records exchanges', async () => {
    const file = path.join(dir, 'journal.db');
    const j1 = new SqliteJournal({ file });
    await j1.putDossier(VENUE_A, { venue: { numero: VENUE_A }, idb: { statut: 'OK' } });
    await j1.putDossier(VENUE_A, { venue: { numero: VENUE_A }, clc: { statut: 'OK' } }, 'ENG-2026-000123');
    await j1.putDossier(VENUE_A, { venue: { numero: VENUE_A }, clc: { statut: 'OK' } }, 'ENG-2026-000123');
    await j1.recordExchange({ orderingKey: VENUE_A, service: 'IDB', outcome: 'OK' });
    await j1.recordExchange({ orderingKey: VENUE_A, service: 'CLC', outcome: 'OK', engagement: 'ENG-2026-000123' });
    await expect(j1.recordExchange({ orderingKey: VENUE_A, service: 'CLC', outcome: '' })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await j1.close();
    const j2 = journal({ file });
    expect(await j2.getDossier(VENUE_A)).toMatchObject({
      roc: { venue: { numero: VENUE_A }, clc: { statut: 'OK' } },
      engagements: ['ENG-2026-000123'],
    });
    expect(await j2.getDossier(VENUE_B)).toBeUndefined();
    expect((await j2.exchanges(VENUE_A)).map((x) => [x.service, x.outcome, x.engagement])).toEqual([
      ['IDB', 'OK', undefined],
      ['CLC', 'OK', 'ENG-2026-000123'],
    ]);
  });
});
