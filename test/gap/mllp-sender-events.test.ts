/**
 * The MLLP answer sender (lib/gap/mllp-sender.ts) on what mutation testing (issue 12) left open
 * in its class: the `change` events an operations display follows (enqueue, resend, cancel, the
 * recovery at start), the defaults when no reconnection delays are given, the reconnection
 * backoff against a GAP that drops every connection (no hammering, the delay grows to its cap),
 * and a journal that changes under an answer in flight: the row put back in the queue by another
 * journal instance (`race`, sent again) or a journal that fails (`fault`). 127.0.0.1, port 0.
 */
import net from 'node:net';
import { JournalError } from '../../lib/store/journal';
import { frame } from '../../lib/hl7/mllp';
import { DEST, answer, freePort, latin1, senderHarness, sleep, stateOf, until } from './sender-rig';

const { journal, gap, sender } = senderHarness('roc-sender-events-');

describe('MllpAnswerSender: change events', () => {
  it('enqueue, resend and cancel each say change; an answer already queued (same answer key) does not', async () => {
    const g = await gap('hold');
    const j = journal();
    const { s, events } = sender(j, g.port, { reconnect: { minMs: 20, maxMs: 100 } });
    s.start();
    await until(() => s.isConnected, 'connected');
    await sleep(50);
    expect(events).toEqual([]); // nothing recovered, nothing to send: no change
    const a = await s.enqueue(answer('CHG-1', 'V-1'), 'V-1', 11, 'key-1');
    expect(events.length).toBeGreaterThanOrEqual(1);
    await until(() => g.received.length === 1, 'sent');
    const n = events.length;
    const again = await s.enqueue(answer('CHG-1', 'V-1'), 'V-1', 11, 'key-1');
    expect(again).toMatchObject({ id: a.id, existing: true });
    await sleep(50);
    expect(events).toHaveLength(n);
    expect(g.received).toHaveLength(1);

    const b = await s.enqueue(answer('CHG-2', 'V-2'), 'V-2');
    const before = events.length;
    await s.cancel(b.id);
    expect(events.length).toBe(before + 1);
    expect(await stateOf(j, b.id)).toBe('CANCELLED');
  });

  it('resend of a parked answer says change and sends it again', async () => {
    const g = await gap('hold');
    const j = journal();
    const { s, events, outcomes } = sender(j, g.port, { reconnect: { minMs: 20, maxMs: 100 }, ackTimeoutMs: 150, maxAttempts: 1 });
    s.start();
    const a = await s.enqueue(answer('RSD-1', 'V-1'), 'V-1');
    await until(() => outcomes.some((o) => o.kind === 'error'), 'parked after its only attempt');
    const before = events.length;
    g.mode = 'ack';
    await s.resend(a.id);
    expect(events.length).toBe(before + 1);
    await until(async () => (await stateOf(j, a.id)) === 'ACKED', 'acked after resend');
  });

  it('the recovery at start says change when it put answers back in the queue, even before any connection', async () => {
    const j = journal();
    await j.enqueue({ destination: DEST, payload: answer('REC-0', 'V-1'), orderingKey: 'V-1' });
    await j.take(DEST, 1);
    const { s, events } = sender(j, await freePort(), { reconnect: { minMs: 20, maxMs: 100 } });
    s.start();
    await until(() => events.length > 0, 'change with the GAP unreachable');
    expect(s.isConnected).toBe(false);
  });

  it('nothing is sent before start()', async () => {
    const g = await gap('ack');
    const j = journal();
    const { s } = sender(j, g.port, { reconnect: { minMs: 20, maxMs: 100 } });
    const a = await s.enqueue(answer('BEF-1', 'V-1'), 'V-1');
    await sleep(150);
    expect(g.connections).toBe(0);
    s.start();
    await until(async () => (await stateOf(j, a.id)) === 'ACKED', 'sent once started');
  });

  it('the recovery at start says change when it put answers back in the queue', async () => {
    const g = await gap('ack');
    const j = journal();
    const a = await j.enqueue({ destination: DEST, payload: answer('REC-1', 'V-1'), orderingKey: 'V-1' });
    await j.take(DEST, 1); // SENT by a run that stopped before the ACK
    const { s, events } = sender(j, g.port, { reconnect: { minMs: 20, maxMs: 100 } });
    s.start();
    await until(() => events.length > 0, 'change');
    await until(async () => (await stateOf(j, a.id)) === 'ACKED', 'resent and acked');
    expect(g.received.map((r) => r.controlId)).toEqual(['REC-1']);
  });
});

describe('MllpAnswerSender: connecting', () => {
  it('close() while connected says nothing more (no disconnected)', async () => {
    const g = await gap('ack');
    const j = journal();
    const { s } = sender(j, g.port, { reconnect: { minMs: 20, maxMs: 100 } });
    const seen: string[] = [];
    s.on('disconnected', () => seen.push('disconnected'));
    s.start();
    await until(() => s.isConnected, 'connected');
    s.close();
    await sleep(100);
    expect(seen).toEqual([]);
  });

  it('bytes outside frames before an ACK are not counted as unmatched ACKs', async () => {
    const g = await gap('hold');
    const j = journal();
    const { s } = sender(j, g.port, { reconnect: { minMs: 20, maxMs: 100 } });
    s.start();
    const a = await s.enqueue(answer('JNK-1', 'V-1'), 'V-1');
    await until(() => g.received.length === 1, 'sent');
    g.received[0].socket.write(
      Buffer.concat([
        latin1('bruit\r'),
        frame(latin1('MSH|^~\\&|GAP|CHU-NORD|ROC-BRIDGE|CLINIQUE|20261120081501||ACK^Z01^ACK|G-3|P|2.5\rMSA|AA|JNK-1')),
      ]),
    );
    await until(async () => (await stateOf(j, a.id)) === 'ACKED', 'acked');
    expect(s.unmatchedAcks).toBe(0);
  });

  it('two answers enqueued at once with a window of 1: one in flight', async () => {
    const g = await gap('hold');
    const j = journal();
    const { s } = sender(j, g.port, { reconnect: { minMs: 20, maxMs: 100 } });
    s.start();
    await until(() => s.isConnected, 'connected');
    await Promise.all([s.enqueue(answer('TWO-1', 'V-1'), 'V-1'), s.enqueue(answer('TWO-2', 'V-2'), 'V-2')]);
    await until(() => g.received.length === 1, 'one sent');
    await sleep(200);
    expect(g.received).toHaveLength(1);
  });

  it('without reconnection delays given: the defaults, and the answer is delivered', async () => {
    const g = await gap('ack');
    const j = journal();
    const { s } = sender(j, g.port);
    s.start();
    const a = await s.enqueue(answer('DEF-1', 'V-1'), 'V-1');
    await until(async () => (await stateOf(j, a.id)) === 'ACKED', 'acked');
    expect(s.connects).toBe(1);
  });

  it('a GAP that drops every connection is not hammered: one attempt per minMs at most, even when answers arrive', async () => {
    const g = await gap('drop');
    const j = journal();
    const { s } = sender(j, g.port, { reconnect: { minMs: 1000, maxMs: 1000 } });
    s.start();
    await until(() => g.connections === 1, 'first attempt');
    await sleep(100);
    await s.enqueue(answer('HAM-1', 'V-1'), 'V-1'); // something to send, the last failure is recent: no attempt now
    await sleep(500);
    expect(g.connections).toBe(1);
    await until(() => g.connections >= 2, 'the next attempt after minMs', 5000);
    expect(s.isConnected).toBe(false);
  });

  it('a GAP that refuses connections: the reconnection delay doubles up to maxMs', async () => {
    const port = await freePort();
    const j = journal();
    const connect = jest.spyOn(net, 'connect');
    const { s } = sender(j, port, { reconnect: { minMs: 50, maxMs: 400 } });
    const started = Date.now();
    s.start();
    // attempts at about 0, 50, 150, 350, 750, 1150 ms…: 5 in the first second, not 20 at a fixed 50 ms
    await until(() => connect.mock.calls.length >= 4, '4 attempts', 10_000);
    await sleep(Math.max(0, 1000 - (Date.now() - started)));
    expect(connect.mock.calls.length).toBeLessThanOrEqual(7);
    await until(() => connect.mock.calls.length >= 6, 'going on at maxMs', 10_000);
  });

  it('a GAP that accepts and drops at once: the delay still doubles (a connect alone does not reset it)', async () => {
    const g = await gap('drop');
    const j = journal();
    const { s } = sender(j, g.port, { reconnect: { minMs: 50, maxMs: 400 } });
    s.start();
    // attempts at about 0, 50, 150, 350, 750, 1150 ms: 6 in 1.2 s; reset at every connect, 24
    await sleep(1200);
    expect(g.connections).toBeGreaterThanOrEqual(4);
    expect(g.connections).toBeLessThanOrEqual(8);
  });

  it('once the GAP acknowledged an answer, the next loss is retried after minMs again', async () => {
    const g = await gap('drop');
    const j = journal();
    const { s } = sender(j, g.port, { reconnect: { minMs: 50, maxMs: 3_000 } });
    s.start();
    await until(() => g.connections >= 5, 'the delay grown to 800 ms', 10_000); // 0, 50, 150, 350, 750: next in 800
    g.mode = 'ack';
    const a = await s.enqueue(answer('BACK-1', 'V-1'), 'V-1');
    await until(async () => (await stateOf(j, a.id)) === 'ACKED', 'delivered', 5_000);
    // The GAP restarts: its connection is lost, the bridge is back within about minMs.
    const before = g.connections;
    g.mode = 'drop';
    g.received[0].socket.destroy();
    const lost = Date.now();
    await until(() => g.connections > before, 'reconnected', 5_000);
    expect(Date.now() - lost).toBeLessThan(500);
  });

  it('a connection that lasted maxMs is a GAP that worked: its loss is retried after minMs again', async () => {
    const g = await gap('drop');
    const j = journal();
    const { s } = sender(j, g.port, { reconnect: { minMs: 50, maxMs: 800 } });
    s.start();
    await until(() => g.connections >= 5, 'the delay grown to its cap', 10_000); // 0, 50, 150, 350, 750: next in 800
    g.mode = 'hold';
    await until(() => s.isConnected, 'a connection kept', 5_000);
    await sleep(850);
    const before = g.connections;
    g.dropConnections();
    const lost = Date.now();
    await until(() => g.connections > before, 'reconnected', 5_000);
    expect(Date.now() - lost).toBeLessThan(500);
  });

  it('an answer queued while waiting to reconnect, past minMs since the failure, connects at once', async () => {
    const port = await freePort();
    const j = journal();
    const connect = jest.spyOn(net, 'connect');
    const { s } = sender(j, port, { reconnect: { minMs: 100, maxMs: 60_000 } });
    s.start();
    // refused: the backoff grows, attempts at about 0, 100, 300, 700, 1500 ms
    await until(() => connect.mock.calls.length >= 4, 'a few attempts', 10_000);
    await gap('ack', undefined, port);
    await sleep(150); // past minMs since the last failure, long before the next attempt
    const before = connect.mock.calls.length;
    const a = await s.enqueue(answer('NOW-1', 'V-1'), 'V-1');
    await until(async () => (await stateOf(j, a.id)) === 'ACKED', 'delivered', 600);
    expect(connect.mock.calls.length).toBe(before + 1);
  });
});

describe('MllpAnswerSender: the journal changes under an answer in flight', () => {
  it('the row put back in the queue by another journal instance: race, sent again, acked once', async () => {
    const g = await gap('hold');
    const j = journal();
    const { s, races, faults, outcomes } = sender(j, g.port, { reconnect: { minMs: 20, maxMs: 100 } });
    s.start();
    const a = await s.enqueue(answer('RACE-1', 'V-1'), 'V-1');
    await until(() => g.received.length === 1, 'sent');
    const other = journal(); // e.g. a second node on the same file, (re)starting its sender
    expect(await other.recoverOutbound(DEST)).toBe(1);
    g.ack('RACE-1');
    await until(() => races.length === 1, 'race');
    expect(races).toEqual([a.id]);
    await until(() => g.received.length === 2, 'sent again');
    g.ack('RACE-1');
    await until(async () => (await stateOf(j, a.id)) === 'ACKED', 'acked');
    expect(faults).toEqual([]);
    expect(outcomes.map((o) => o.kind)).toEqual(['acked']);
    expect(outcomes[0].record).toMatchObject({ id: a.id, state: 'ACKED' });
  });

  it('a refusal (AE) whose row was put back in the queue meanwhile: race too, not a fault', async () => {
    const g = await gap('hold');
    const j = journal();
    const { s, races, faults } = sender(j, g.port, { reconnect: { minMs: 20, maxMs: 100 } });
    s.start();
    const a = await s.enqueue(answer('RACE-2', 'V-1'), 'V-1');
    await until(() => g.received.length === 1, 'sent');
    expect(await journal().recoverOutbound(DEST)).toBe(1);
    const last = g.received[0];
    last.socket.write(frame(latin1('MSH|^~\\&|GAP|CHU-NORD|ROC-BRIDGE|CLINIQUE|20261120081501||ACK^Z01^ACK|G-2|P|2.5\rMSA|AE|RACE-2')));
    await until(() => races.length === 1, 'race');
    expect(races).toEqual([a.id]);
    expect(faults).toEqual([]);
  });

  it('a journal that fails on the ACK: fault; a closed sender says nothing', async () => {
    const g = await gap('hold');
    const j = journal();
    const { s, faults, races } = sender(j, g.port, { reconnect: { minMs: 20, maxMs: 100 } });
    s.start();
    await s.enqueue(answer('FLT-1', 'V-1'), 'V-1');
    await until(() => g.received.length === 1, 'sent');
    const acked = jest.spyOn(j, 'acked').mockRejectedValueOnce(new Error('SQLITE_IOERR'));
    g.ack('FLT-1');
    await until(() => faults.length === 1, 'fault');
    expect(faults[0].message).toBe('SQLITE_IOERR');
    expect(races).toEqual([]);

    // another failure than a race: a fault too
    await s.enqueue(answer('FLT-2', 'V-2'), 'V-2');
    await until(() => g.received.length === 2, 'the next answer sent');
    acked.mockRejectedValueOnce(new JournalError('journal closed', 'CLOSED'));
    g.ack('FLT-2');
    await until(() => faults.length === 2, 'second fault');
    expect(faults[1]).toMatchObject({ code: 'CLOSED' });
    expect(races).toEqual([]);

    // the sender closed while the journal settles the ACK: nothing said
    await s.enqueue(answer('FLT-3', 'V-3'), 'V-3');
    await until(() => g.received.length === 3, 'the third answer sent');
    let fail!: (e: Error) => void;
    acked.mockImplementationOnce(() => new Promise((_, reject) => (fail = reject)));
    g.ack('FLT-3');
    await until(() => fail !== undefined, 'the ACK being recorded');
    s.close();
    fail(new Error('SQLITE_IOERR again'));
    await sleep(50);
    expect(faults).toHaveLength(2);
  });
});
