/**
 * The outbound queue of the SQLite journal (lib/store/sqlite/outbound.ts) at its edges: what
 * enqueue and the state changes refuse and with which message, the answer key that keeps one
 * answer per inbound message, the inbound id kept with an answer, and the queue browser's filters.
 */
import { SqliteJournal } from '../../lib/store/sqlite';
import type { OutboundInput } from '../../lib/store/journal';

const GAP = 'mllp:gap.chu-nord.local:2576';
const ACK = (controlId: string) =>
  Buffer.from(`MSH|^~\\&|ROC_BRIDGE|CHU|CPAGE|CHU|20261125100000||ACK^A01^ACK|${controlId}|P|2.5\rMSA|AA|${controlId}\r`);
const open: SqliteJournal[] = [];
let clock = 0;
function journal(): SqliteJournal {
  clock = Date.parse('2026-11-25T10:00:00Z');
  const j = new SqliteJournal({ file: ':memory:', retentionDays: 0, purgeIntervalMs: 0, now: () => (clock += 1000) });
  open.push(j);
  return j;
}
afterEach(async () => {
  for (const j of open.splice(0)) await j.close();
});

describe('what the outbound queue refuses, and its message', () => {
  it('enqueue: a Buffer payload, a destination, a positive number of attempts, bounded keys', async () => {
    const j = journal();
    const ok: OutboundInput = { destination: GAP, payload: ACK('A01-1') };
    const refuses = (input: unknown, message: string) =>
      expect(j.enqueue(input as OutboundInput)).rejects.toMatchObject({ code: 'BAD_INPUT', message });
    await refuses(undefined, 'enqueue needs the payload as a Buffer');
    await refuses({ ...ok, payload: 'MSH|^~\\&|' }, 'enqueue needs the payload as a Buffer');
    await refuses({ ...ok, destination: '' }, 'enqueue needs a destination');
    await refuses({ ...ok, destination: 2576 }, 'destination must be a string');
    for (const maxAttempts of [0, -1, 2.5]) await refuses({ ...ok, maxAttempts }, 'maxAttempts must be a positive integer');
    await refuses({ ...ok, orderingKey: 250100421 }, 'orderingKey must be a string');
    await refuses({ ...ok, answerKey: 'K'.repeat(301) }, 'answerKey is longer than 300 characters');
    expect(await j.browseOutbound()).toEqual([]);
    expect((await j.enqueue({ ...ok, maxAttempts: 1 })).maxAttempts).toBe(1);
  });

  it('acked, sendFailed, requeue, cancel: unknown ids and wrong states', async () => {
    const j = journal();
    const m = await j.enqueue({ destination: GAP, payload: ACK('A01-2') });
    await expect(j.acked(9999)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'outbound message 9999 does not exist' });
    await expect(j.acked(m.id)).rejects.toMatchObject({ code: 'BAD_STATE', message: `outbound message ${m.id} is QUEUED, not SENT` });
    await expect(j.sendFailed(m.id, 'ECONNREFUSED')).rejects.toMatchObject({
      code: 'BAD_STATE',
      message: `outbound message ${m.id} is QUEUED, not SENT`,
    });
    await expect(j.sendFailed(9999, 'ECONNREFUSED')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(j.requeue(m.id)).rejects.toMatchObject({ code: 'BAD_STATE', message: `outbound message ${m.id} is QUEUED, not ERROR` });
    await j.take(GAP, 1, new Date(clock + 1000));
    await expect(j.cancel(m.id)).rejects.toMatchObject({
      code: 'BAD_STATE',
      message: `outbound message ${m.id} is SENT, not QUEUED or ERROR`,
    });
    const failed = await j.sendFailed(m.id, undefined as never);
    expect(failed).toMatchObject({ state: 'QUEUED', lastError: 'failed' }); // no reason given
  });
});

describe('answers and their inbound message', () => {
  it('one answer per answer key and destination: the second enqueue gives back the first', async () => {
    const j = journal();
    const first = await j.enqueue({ destination: GAP, payload: ACK('A01-3'), answerKey: 'ack:17', inboundId: 17 });
    expect(first.existing).toBeUndefined();
    const again = await j.enqueue({ destination: GAP, payload: ACK('A01-3'), answerKey: 'ack:17', inboundId: 17 });
    expect(again).toMatchObject({ id: first.id, existing: true, answerKey: 'ack:17' });
    const elsewhere = await j.enqueue({ destination: 'mllp:gap.chu-sud.local:2576', payload: ACK('A01-3'), answerKey: 'ack:17' });
    expect(elsewhere.id).not.toBe(first.id);
    const [a, b] = [
      await j.enqueue({ destination: GAP, payload: ACK('A01-4') }),
      await j.enqueue({ destination: GAP, payload: ACK('A01-4') }),
    ];
    expect(a.id).not.toBe(b.id); // no key: two answers
  });

  it('keeps the inbound id of an answer; the record has no field for what it does not have', async () => {
    const j = journal();
    const m = await j.enqueue({ destination: GAP, payload: ACK('A01-5'), inboundId: 42 });
    const r = (await j.getOutbound(m.id))!;
    expect(r.inboundId).toBe(42);
    expect(Object.entries(r).filter(([, v]) => v === undefined)).toEqual([]);
    expect('payload' in r).toBe(false);
    expect((await j.getOutbound(m.id, { payload: true }))?.payload).toEqual(ACK('A01-5'));
    expect((await j.getOutbound((await j.enqueue({ destination: GAP, payload: ACK('A01-6') })).id))?.inboundId).toBeUndefined();
  });
});

describe('the outbound queue browser', () => {
  it('filters by destination, inbound id, states, venue, creation time, and pages', async () => {
    const j = journal();
    const SUD = 'mllp:gap.chu-sud.local:2576';
    const a = await j.enqueue({ destination: GAP, payload: ACK('B-1'), inboundId: 1, orderingKey: 'PV1-19:250100421' });
    const t1 = new Date(clock + 1);
    const b = await j.enqueue({ destination: SUD, payload: ACK('B-2'), inboundId: 2, orderingKey: 'PV1-19:250100422' });
    const c = await j.enqueue({ destination: GAP, payload: ACK('B-3'), inboundId: 2, orderingKey: 'PV1-19:250100421' });
    const t2 = new Date(clock + 1);
    await j.take(GAP, 1, new Date(clock + 5000));
    const ids = async (f: Parameters<SqliteJournal['browseOutbound']>[0]) => (await j.browseOutbound(f)).map((m) => m.id);
    expect(await ids({})).toEqual([a.id, b.id, c.id]);
    expect(await ids({ destination: GAP })).toEqual([a.id, c.id]);
    expect(await ids({ inboundId: 2 })).toEqual([b.id, c.id]);
    expect(await ids({ destination: GAP, inboundId: 2 })).toEqual([c.id]);
    expect(await ids({ states: ['SENT', 'ERROR'] })).toEqual([a.id]);
    expect(await ids({ states: ['QUEUED', 'SENT'] })).toEqual([a.id, b.id, c.id]);
    expect(await ids({ orderingKey: 'PV1-19:250100422' })).toEqual([b.id]);
    expect(await ids({ from: t1 })).toEqual([b.id, c.id]);
    expect(await ids({ to: t1 })).toEqual([a.id]);
    expect(await ids({ from: t1, to: t2 })).toEqual([b.id, c.id]);
    expect(await ids({ afterId: a.id })).toEqual([b.id, c.id]);
  });
});
