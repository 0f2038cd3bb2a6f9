/**
 * The inbound side of the SQLite journal (lib/store/sqlite/inbound.ts) at its edges: what append,
 * complete, fail, release and resend refuse and with which message (the listener NACKs with it,
 * the ops page shows it), the duplicate window's bound, what a held venue does to duplicates and
 * ignored events, the browser's filters and order, and hasSeenOrderingKey.
 */
import { SqliteJournal } from '../../lib/store/sqlite';
import type { InboundInput } from '../../lib/store/journal';
import { adt } from './fixtures';

const VENUE = '250100421';
const open: SqliteJournal[] = [];
let clock = 0;
function journal(options: { duplicateWindowMs?: number } = {}): SqliteJournal {
  clock = Date.parse('2026-11-25T10:00:00Z');
  const j = new SqliteJournal({
    file: ':memory:',
    retentionDays: 0,
    purgeIntervalMs: 0,
    duplicateWindowMs: options.duplicateWindowMs,
    now: () => clock,
  });
  open.push(j);
  return j;
}
afterEach(async () => {
  for (const j of open.splice(0)) await j.close();
});

describe('what the inbound journal refuses, and its message', () => {
  it('append: raw bytes, a channel, a readable date, bounded string fields', async () => {
    const j = journal();
    const ok = adt('ED-1', VENUE);
    const refuses = (input: unknown, message: string) =>
      expect(j.append(input as InboundInput)).rejects.toMatchObject({ code: 'BAD_INPUT', message });
    await refuses(undefined, 'append needs the raw bytes as a Buffer');
    await refuses({ ...ok, raw: ok.raw.toString('latin1') }, 'append needs the raw bytes as a Buffer');
    await refuses({ ...ok, channel: '' }, 'append needs a channel');
    await refuses({ ...ok, channel: 2575 }, 'channel must be a string');
    await refuses({ ...ok, receivedAt: new Date('2026-02-30T25:00:00') }, 'receivedAt is not a valid date');
    await refuses({ ...ok, sendingApplication: 'C'.repeat(201) }, 'sendingApplication is longer than 200 characters');
    await refuses({ ...ok, sendingFacility: 750100125 }, 'sendingFacility must be a string');
    await refuses({ ...ok, controlId: 1 }, 'controlId must be a string');
    await refuses({ ...ok, event: 'ADT^A01^ADT_A01^'.repeat(3) }, 'event is longer than 40 characters');
    await refuses({ ...ok, charset: 'UNICODE UTF-8 '.repeat(3) }, 'charset is longer than 40 characters');
    await refuses({ ...ok, orderingKey: 250100421 }, 'orderingKey must be a string');
    expect(await j.counts()).toMatchObject({ RECEIVED: 0 });
  });

  it('complete, fail, release, resend: unknown ids, wrong states, bad modes', async () => {
    const j = journal();
    const a = await j.append(adt('ED-2', VENUE));
    await expect(j.complete(a.id, 'FAILED' as never)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'complete() takes DONE or IGNORED',
    });
    await expect(j.complete(a.id)).rejects.toMatchObject({ code: 'BAD_STATE', message: `message ${a.id} is RECEIVED, not PROCESSING` });
    await expect(j.complete(9999)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'message 9999 does not exist' });
    const done = await j.append(adt('ED-5', '250100422'));
    await j.start([done.id]);
    await j.complete(done.id);
    await expect(j.fail(done.id, 'x')).rejects.toMatchObject({ code: 'BAD_STATE', message: `message ${done.id} is DONE, not PROCESSING` });
    await expect(j.resend(a.id)).rejects.toMatchObject({
      code: 'BAD_STATE',
      message: `message ${a.id} is RECEIVED: it has not finished, nothing to resend`,
    });
    await expect(j.resend(9999)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'message 9999 does not exist' });
    await j.start([a.id]);
    await expect(j.resend(a.id)).rejects.toMatchObject({
      code: 'BAD_STATE',
      message: `message ${a.id} is PROCESSING: it has not finished, nothing to resend`,
    });
    const b = await j.append(adt('ED-3', VENUE));
    expect(await j.fail(a.id, undefined as never)).toEqual({ heldKey: `PV1-19:${VENUE}`, waiting: 1 });
    expect((await j.get(a.id))?.lastError).toBe('failed'); // no reason given
    await expect(j.resend(b.id)).rejects.toMatchObject({
      code: 'BAD_STATE',
      message: `message ${b.id} is HELD: it has not finished, nothing to resend`,
    });
    await expect(j.release(`PV1-19:${VENUE}`, 'later' as never)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'mode is retry or skip',
    });
    await expect(j.release('PV1-19:250100499')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'this ordering key is not held' });
    expect(await j.release(`PV1-19:${VENUE}`)).toEqual([a.id, b.id]); // retry by default: the failed one first
    expect((await j.get(a.id))?.state).toBe('RECEIVED');
  });

  it('the IGNORED end state, and start([]) that marks nothing (and writes nothing)', async () => {
    const j = journal();
    const a = await j.append(adt('ED-4', VENUE));
    const commits = j.stats.commits;
    expect(await j.start([])).toEqual([]);
    expect(j.stats.commits).toBe(commits);
    await j.start([a.id]);
    await j.complete(a.id, 'IGNORED');
    expect((await j.get(a.id))?.state).toBe('IGNORED');
  });
});

describe('defaults and absent fields', () => {
  it('a message without ordering key is stored without one (no null key handed to the dispatcher)', async () => {
    const j = journal();
    const input = adt('AF-1', VENUE);
    delete input.orderingKey;
    const s = await j.append(input);
    expect(s).toStrictEqual({
      id: s.storedId,
      duplicate: false,
      storedId: s.storedId,
      state: 'RECEIVED',
      receivedAt: '2026-11-25T10:00:00.000Z',
    });
  });

  it('complete() without a state is DONE; release() without a mode retries the failed message first', async () => {
    const j = journal();
    const a = await j.append(adt('AF-2', VENUE));
    const b = await j.append(adt('AF-3', VENUE));
    await j.start([a.id]);
    await j.complete(a.id);
    expect((await j.get(a.id))?.state).toBe('DONE');
    await j.start([b.id]);
    const held = await j.fail(b.id, 'IDB: AMC injoignable');
    expect(await j.release(held.heldKey!)).toEqual([b.id]);
    expect((await j.get(b.id))?.state).toBe('RECEIVED');
  });

  it('a held key of an older journal, with no reason stored, is listed without a reason field', async () => {
    const j = journal();
    const a = await j.append(adt('AF-4', VENUE));
    await j.start([a.id]);
    const held = await j.fail(a.id, 'mapping');
    (j as unknown as { db: { prepare(sql: string): { run(): void } } }).db.prepare('UPDATE held_keys SET reason = NULL').run();
    expect(await j.heldKeys()).toStrictEqual([
      { orderingKey: held.heldKey, failedId: a.id, since: '2026-11-25T10:00:00.000Z', waiting: 0 },
    ]);
  });
});

describe('duplicates, held venues', () => {
  it('a control id sent again exactly at the end of the window is still a duplicate; a millisecond later it is new', async () => {
    const j = journal({ duplicateWindowMs: 60_000 });
    const first = await j.append(adt('DW-1', VENUE));
    clock += 60_000;
    expect(await j.append(adt('DW-1', VENUE))).toMatchObject({ duplicate: true, id: first.id });
    clock += 1;
    expect(await j.append(adt('DW-1', VENUE))).toMatchObject({ duplicate: false, state: 'RECEIVED' });
  });

  it('without sending application and facility, the control id alone finds the duplicate', async () => {
    const j = journal();
    const bare = (controlId: string): InboundInput => ({
      ...adt(controlId, VENUE),
      sendingApplication: undefined,
      sendingFacility: undefined,
    });
    const first = await j.append(bare('NA-1'));
    expect(await j.append(bare('NA-1'))).toMatchObject({ duplicate: true, id: first.id, state: 'DUPLICATE' });
    expect(await j.append(adt('NA-1', VENUE))).toMatchObject({ duplicate: false }); // another sender
  });

  it('while a venue is held, its duplicates stay DUPLICATE and its ignored events IGNORED (not HELD: nothing to replay)', async () => {
    const j = journal();
    const a = await j.append(adt('HD-1', VENUE));
    await j.start([a.id]);
    await j.fail(a.id, 'IDB: AMC injoignable');
    expect((await j.append(adt('HD-1', VENUE))).state).toBe('DUPLICATE');
    expect((await j.append({ ...adt('HD-2', VENUE, { event: 'A60' }), ignored: true })).state).toBe('IGNORED');
    expect((await j.append(adt('HD-3', VENUE))).state).toBe('HELD');
    expect(await j.heldKeys()).toMatchObject([{ orderingKey: `PV1-19:${VENUE}`, waiting: 1 }]);
  });

  it('pending() gives an ordering key only to the messages that have one', async () => {
    const j = journal();
    const keyed = await j.append(adt('PD-1', VENUE));
    const keyless = await j.append({ ...adt('PD-2', VENUE), orderingKey: undefined });
    expect('orderingKey' in keyless).toBe(false);
    expect(keyed.orderingKey).toBe(`PV1-19:${VENUE}`);
    expect(await j.pending()).toStrictEqual([
      { id: keyed.id, orderingKey: `PV1-19:${VENUE}`, state: 'RECEIVED' },
      { id: keyless.id, state: 'RECEIVED' },
    ]);
  });
});

describe('resend after the retention purge', () => {
  it('a message whose raw bytes were erased cannot be resent, and says why', async () => {
    clock = Date.parse('2026-10-01T08:00:00Z');
    const j = new SqliteJournal({ file: ':memory:', retentionDays: 30, purgeIntervalMs: 0, now: () => clock });
    open.push(j);
    const a = await j.append(adt('PG-1', VENUE));
    await j.start([a.id]);
    await j.complete(a.id);
    clock += 31 * 86_400_000;
    expect(await j.purge()).toMatchObject({ inboundErased: 1 });
    await expect(j.resend(a.id)).rejects.toMatchObject({
      code: 'BAD_STATE',
      message: `message ${a.id}: its raw bytes were erased by the retention purge, nothing to resend`,
    });
  });
});

describe('the message browser', () => {
  it('filters by channel and control id, pages forward and backward, refuses an unknown state', async () => {
    const j = journal();
    const ids: number[] = [];
    for (const [i, channel] of ['mllp:2575', 'mllp:2576', 'mllp:2575', 'mllp:2575'].entries()) {
      ids.push((await j.append({ ...adt(`BR-${i}`, VENUE), channel })).id);
    }
    expect((await j.browse()).map((m) => m.id)).toEqual(ids);
    expect((await j.browse({ channel: 'mllp:2576' })).map((m) => m.controlId)).toEqual(['BR-1']);
    expect((await j.browse({ controlId: 'BR-2' })).map((m) => m.id)).toEqual([ids[2]]);
    expect((await j.browse({ afterId: ids[1] })).map((m) => m.id)).toEqual([ids[2], ids[3]]);
    expect((await j.browse({ order: 'desc', afterId: ids[2] })).map((m) => m.id)).toEqual([ids[1], ids[0]]);
    await expect(j.browse({ states: ['RECEIVED', 'PERDU_DANS_LE_JOURNAL' as never] })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'unknown state PERDU_DANS_LE_JOURNA', // cut at 20 characters
    });
  });

  it('a record has no field for what it does not have (no raw bytes unless asked)', async () => {
    const j = journal();
    const a = await j.append(adt('SH-1', VENUE));
    const r = (await j.get(a.id))!;
    expect(Object.entries(r).filter(([, v]) => v === undefined)).toEqual([]);
    expect('raw' in r).toBe(false);
    expect((await j.get(a.id, { raw: true }))?.raw).toEqual(adt('SH-1', VENUE).raw);
  });
});

describe('hasSeenOrderingKey', () => {
  it('true for a key of a received message or of a dossier, false otherwise and for no key', async () => {
    const j = journal();
    await j.append(adt('SK-1', VENUE));
    await j.putDossier('PV1-19:250100777', { etat: 'ADMIS' });
    expect(await j.hasSeenOrderingKey(`PV1-19:${VENUE}`)).toBe(true);
    expect(await j.hasSeenOrderingKey('PV1-19:250100777')).toBe(true);
    expect(await j.hasSeenOrderingKey('PV1-19:250100778')).toBe(false);
    expect(await j.hasSeenOrderingKey('')).toBe(false);
    expect(await j.hasSeenOrderingKey(undefined as never)).toBe(false);
  });

  it('a key given as a number is not a key, even when SQLite would compare it equal to one', async () => {
    const j = journal();
    // (a whole number binds as REAL, '250100421.0', and matches no key; a decimal one would)
    await j.append({ ...adt('SK-2', VENUE), orderingKey: '1.5' });
    expect(await j.hasSeenOrderingKey('1.5')).toBe(true);
    expect(await j.hasSeenOrderingKey(1.5 as never)).toBe(false);
  });
});
