/**
 * The MLLP answer sender (lib/gap/mllp-sender.ts): what its mutation run left open after the
 * events and guards tests. Closing (no fault nor outcome once closed, no new connection, an answer
 * being handed out stays SENT), starting twice, a TLS handshake never answered (connectTimeoutMs),
 * the change events of taking and settling, only MSA-1's code kept, the connection counted lost at
 * an ACK timeout, the wake for the next retry (earliest, once, no polling, not hidden by a long
 * queue, with window 2 while another venue is in flight), minMs exactly, an answer handed out while
 * the next socket is still connecting, and two answers in flight with one MSH-10. 127.0.0.1, port 0.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { openSqliteJournal, type SqliteJournal } from '../../lib/store/sqlite';
import { generateTestPki } from '../../lib/security/pki';
import { frame } from '../../lib/hl7/mllp';
import { DEST, Gap, answer, freePort, latin1, senderHarness, sleep, stateOf, until, type SenderOptions } from './sender-rig';

const h = senderHarness('roc-sender-surv-');
const { journal, gap } = h;
/** Reconnection within 20 to 100 ms unless a test says otherwise. */
const sender = (j: SqliteJournal, port: number, extra: SenderOptions = {}) =>
  h.sender(j, port, { reconnect: { minMs: 20, maxMs: 100 }, ...extra });

describe('MllpAnswerSender: closing', () => {
  it('a journal failing at start after the sender was closed: no fault (an open sender says it)', async () => {
    const g = await gap('ack');
    const j = journal();
    const fails: Array<(e: Error) => void> = [];
    jest.spyOn(j, 'recoverOutbound').mockImplementation(() => new Promise((_, reject) => fails.push(reject)));
    const { s, faults } = sender(j, g.port);
    s.start();
    await until(() => fails.length === 1, 'the recovery under way');
    fails[0](new Error('SQLITE_IOERR'));
    await until(() => faults.length === 1, 'fault while open');
    expect(faults[0].message).toBe('SQLITE_IOERR');

    const other = sender(j, g.port);
    other.s.start();
    await until(() => fails.length === 2, 'the second recovery under way');
    other.s.close();
    fails[1](new Error('SQLITE_IOERR'));
    await sleep(50);
    expect(other.faults).toEqual([]);
  });

  it('a closed sender does not connect again, even when started again', async () => {
    const g = await gap('ack');
    const j = journal();
    const { s } = sender(j, g.port);
    s.start();
    await until(() => s.isConnected, 'connected');
    s.close();
    await until(() => g.connections === 1 && !s.isConnected, 'closed');
    s.start();
    await sleep(150);
    expect(g.connections).toBe(1);
    expect(s.isConnected).toBe(false);
  });

  it('started twice: still one connection to the GAP', async () => {
    const g = await gap('ack');
    const j = journal();
    const { s } = sender(j, g.port);
    s.start();
    s.start();
    const a = await s.enqueue(answer('TWICE-1', 'V-1'), 'V-1');
    await until(async () => (await stateOf(j, a.id)) === 'ACKED', 'acked');
    await sleep(100);
    expect(g.connections).toBe(1);
    expect(s.connects).toBe(1);
  });
});

describe('MllpAnswerSender: a GAP that never completes the TLS handshake', () => {
  const pki = generateTestPki();

  it('the attempt is given up after connectTimeoutMs and tried again', async () => {
    // A TCP listener that accepts and says nothing: the TLS client hello is never answered.
    const accepted: net.Socket[] = [];
    let closedBySender = 0;
    const server = net.createServer((sock) => {
      sock.on('error', () => undefined);
      sock.on('close', () => closedBySender++);
      sock.resume();
      accepted.push(sock);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const j = journal();
      const { s } = sender(j, port, { tls: { ca: pki.caCert, servername: 'localhost' }, connectTimeoutMs: 100 });
      s.start();
      await until(() => accepted.length >= 2, 'a second attempt after the timeout', 5_000);
      expect(closedBySender).toBeGreaterThanOrEqual(1); // the first attempt closed by the sender
      expect(s.connects).toBe(0);
      s.close();
    } finally {
      for (const sock of accepted) sock.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('MllpAnswerSender: started again while waiting to reconnect', () => {
  it('one reconnection schedule, not two: the attempts keep the pace of minMs', async () => {
    const port = await freePort();
    const j = journal();
    const connect = jest.spyOn(net, 'connect');
    const { s } = sender(j, port, { reconnect: { minMs: 300, maxMs: 300 } });
    const started = Date.now();
    s.start(); // refused: the next attempt in 300 ms
    await until(() => connect.mock.calls.length === 1, 'first attempt');
    await sleep(50);
    s.start(); // refused too, while the first reconnection is pending
    await until(() => connect.mock.calls.length === 2, 'second attempt');
    // attempts at about 0, 50, 300, 600, 900 ms; two schedules would add 350, 650, 950
    await sleep(Math.max(0, 1000 - (Date.now() - started)));
    expect(connect.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(connect.mock.calls.length).toBeLessThanOrEqual(5);
  });
});

describe('MllpAnswerSender: what a closed sender does with the journal', () => {
  it('closed while the journal hands out an answer: the answer stays SENT for the next start, no attempt counted as failed', async () => {
    const g = await gap('hold');
    const j = journal();
    const { s, outcomes } = sender(j, g.port);
    s.start();
    await until(() => s.isConnected, 'connected');
    const take = j.take.bind(j);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let taking = false;
    jest.spyOn(j, 'take').mockImplementation(async (...args: Parameters<SqliteJournal['take']>) => {
      const records = await take(...args);
      if (records.length) {
        taking = true;
        await gate;
      }
      return records;
    });
    const a = await s.enqueue(answer('CLO-1', 'V-1'), 'V-1');
    await until(() => taking, 'the answer being handed out');
    s.close();
    release();
    await sleep(100);
    const r = (await j.getOutbound(a.id))!;
    expect(r.state).toBe('SENT');
    expect(r.lastError).toBeFalsy();
    expect(g.received).toEqual([]);
    expect(outcomes).toEqual([]);
  });

  it('closed while the journal records a refusal: no outcome said', async () => {
    const g = await gap('hold');
    const j = journal();
    const { s, outcomes } = sender(j, g.port);
    s.start();
    await s.enqueue(answer('CLO-2', 'V-1'), 'V-1');
    await until(() => g.received.length === 1, 'sent');
    const sendFailed = j.sendFailed.bind(j);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let recording = false;
    jest.spyOn(j, 'sendFailed').mockImplementation(async (...args: Parameters<SqliteJournal['sendFailed']>) => {
      recording = true;
      await gate;
      return sendFailed(...args);
    });
    g.received[0].socket.write(
      frame(latin1('MSH|^~\\&|GAP|CHU-NORD|ROC-BRIDGE|CLINIQUE|20261120081501||ACK^Z01^ACK|G-5|P|2.5\rMSA|AE|CLO-2')),
    );
    await until(() => recording, 'the refusal being recorded');
    s.close();
    release();
    await sleep(100);
    expect(outcomes).toEqual([]);
  });
});

describe('MllpAnswerSender: change events of the sending itself', () => {
  it('handing an answer out and settling it each say change', async () => {
    const g = await gap('hold');
    const j = journal();
    const { s, events, outcomes } = sender(j, g.port);
    s.start();
    await until(() => s.isConnected, 'connected');
    await s.enqueue(answer('CHG-3', 'V-1'), 'V-1');
    await until(() => g.received.length === 1, 'sent');
    await sleep(50);
    expect(events).toEqual(['change', 'change']); // queued, then sent
    g.ack('CHG-3');
    await until(() => outcomes.length === 1, 'acked');
    expect(events).toEqual(['change', 'change', 'change']); // then acknowledged
  });
});

describe('MllpAnswerSender: the GAP’s refusal text', () => {
  it('an MSA-1 holding free text: only its two-letter code is kept in the error', async () => {
    const g = await gap('hold');
    const j = journal();
    const { s, outcomes } = sender(j, g.port, { maxAttempts: 1 });
    s.start();
    const a = await s.enqueue(answer('TXT-1', 'V-1'), 'V-1');
    await until(() => g.received.length === 1, 'sent');
    g.received[0].socket.write(
      frame(
        latin1('MSH|^~\\&|GAP|CHU-NORD|ROC-BRIDGE|CLINIQUE|20261120081501||ACK^Z01^ACK|G-6|P|2.5\rMSA|AE patient DUPONT inconnu|TXT-1'),
      ),
    );
    await until(() => outcomes.length === 1, 'refused');
    expect(outcomes[0]).toMatchObject({ kind: 'error', reason: 'ACK AE' });
    const r = (await j.getOutbound(a.id))!;
    expect(r.state).toBe('ERROR');
    expect(r.lastError).toBe('ACK AE');
  });
});

describe('MllpAnswerSender: an ACK timeout', () => {
  it('the connection is counted lost from the moment it is torn down', async () => {
    const g = await gap('hold');
    const j = journal();
    const connect = net.connect;
    const seenAtDestroy: boolean[] = [];
    const { s } = sender(j, g.port, { ackTimeoutMs: 100 });
    jest.spyOn(net, 'connect').mockImplementation(((...args: Parameters<typeof net.connect>) => {
      const sock = connect(...args);
      const destroy = sock.destroy.bind(sock);
      sock.destroy = (e?: Error) => {
        seenAtDestroy.push(s.isConnected);
        return destroy(e);
      };
      return sock;
    }) as typeof net.connect);
    s.start();
    await s.enqueue(answer('TMO-1', 'V-1'), 'V-1');
    await until(() => seenAtDestroy.length >= 1, 'the connection torn down after the timeout');
    expect(seenAtDestroy[0]).toBe(false);
  });
});

describe('MllpAnswerSender: waking for the next retry', () => {
  const refuse = (g: Gap, controlId: string) => {
    const last = [...g.received].reverse().find((r) => r.controlId === controlId)!;
    last.socket.write(
      frame(latin1(`MSH|^~\\&|GAP|CHU-NORD|ROC-BRIDGE|CLINIQUE|20261120081501||ACK^Z01^ACK|G-7|P|2.5\rMSA|AE|${controlId}`)),
    );
  };
  const sentTimes = (g: Gap, controlId: string) => g.received.filter((r) => r.controlId === controlId).length;

  it('the earliest retry is the one waited for, not the latest', async () => {
    const g = await gap('hold');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-sender-wake-'));
    // retries after 100 ms, then 2 s
    const j = openSqliteJournal({
      file: path.join(dir, 'journal.sqlite'),
      recoverSentOnOpen: false,
      maxAttempts: 5,
      backoff: { baseMs: 100, factor: 20, maxMs: 2_000 },
    });
    try {
      const { s } = sender(j, g.port);
      s.start();
      const b = await s.enqueue(answer('WAKE-B', 'V-2'), 'V-2');
      await until(() => sentTimes(g, 'WAKE-B') === 1, 'B sent');
      refuse(g, 'WAKE-B');
      await until(() => sentTimes(g, 'WAKE-B') === 2, 'B resent after 100 ms');
      refuse(g, 'WAKE-B'); // B's next attempt in 2 s
      await until(async () => (await stateOf(j, b.id)) === 'QUEUED', 'B back in the queue');
      await s.enqueue(answer('WAKE-A', 'V-1'), 'V-1');
      await until(() => sentTimes(g, 'WAKE-A') === 1, 'A sent');
      refuse(g, 'WAKE-A'); // A's next attempt in 100 ms
      const refused = Date.now();
      await until(() => sentTimes(g, 'WAKE-A') === 2, 'A resent', 5_000);
      expect(Date.now() - refused).toBeLessThan(1_200);
      expect(sentTimes(g, 'WAKE-B')).toBe(2);
      s.close();
    } finally {
      await j.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a refused answer is taken again when its retry is due: one read of the journal, no polling', async () => {
    const g = await gap('hold');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-sender-wake-'));
    const j = openSqliteJournal({
      file: path.join(dir, 'journal.sqlite'),
      recoverSentOnOpen: false,
      maxAttempts: 5,
      backoff: { baseMs: 300, factor: 2, maxMs: 300 },
    });
    try {
      const { s, outcomes } = sender(j, g.port);
      s.start();
      await s.enqueue(answer('ONE-1', 'V-1'), 'V-1');
      await until(() => sentTimes(g, 'ONE-1') === 1, 'sent');
      const take = jest.spyOn(j, 'take');
      const browse = jest.spyOn(j, 'browseOutbound');
      refuse(g, 'ONE-1'); // retry in 300 ms
      await until(() => outcomes.length === 1, 'refused');
      await until(() => sentTimes(g, 'ONE-1') === 2, 'resent', 5_000);
      // the take after the refusal (nothing due yet), the look at the queue, the take at the wake;
      // polling, or a wake before the retry is due, would read it more
      expect(take.mock.calls.length).toBeLessThanOrEqual(2);
      expect(browse.mock.calls.length).toBeLessThanOrEqual(1);
      s.close();
    } finally {
      await j.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('window 2: a retry falling due while another venue’s answer is in flight goes at its time, not after that answer’s ACK', async () => {
    const g = await gap('hold');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-sender-wake-'));
    // retries after 50 ms, then 500 ms
    const j = openSqliteJournal({
      file: path.join(dir, 'journal.sqlite'),
      recoverSentOnOpen: false,
      maxAttempts: 5,
      backoff: { baseMs: 50, factor: 10, maxMs: 500 },
    });
    try {
      const { s } = sender(j, g.port, { window: 2, ackTimeoutMs: 8_000 });
      s.start();
      const b = await s.enqueue(answer('DUE-B', 'V-2'), 'V-2');
      await until(() => sentTimes(g, 'DUE-B') === 1, 'B sent');
      refuse(g, 'DUE-B');
      await until(() => sentTimes(g, 'DUE-B') === 2, 'B resent after 50 ms');
      refuse(g, 'DUE-B'); // B's next attempt in 500 ms
      await until(async () => (await stateOf(j, b.id)) === 'QUEUED', 'B back in the queue');
      const refusedB = Date.now();
      await s.enqueue(answer('DUE-A', 'V-1'), 'V-1');
      await until(() => sentTimes(g, 'DUE-A') === 1, 'A sent');
      refuse(g, 'DUE-A'); // A's next attempt in 50 ms, then A waits for its ACK (the GAP holds it)
      await until(() => sentTimes(g, 'DUE-A') === 2, 'A resent');
      await until(() => sentTimes(g, 'DUE-B') === 3, 'B resent at its time', 3_000);
      expect(Date.now() - refusedB).toBeLessThan(3_000);
      s.close();
    } finally {
      await j.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a queue with a thousand answers already settled: a refused answer is still woken for its retry', async () => {
    const g = await gap('hold');
    const j = journal(); // retry after 20 ms
    const settled = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        j.enqueue({ destination: DEST, payload: answer(`OLD-${i}`, `V-${i}`), orderingKey: `V-${i}` }),
      ),
    );
    await Promise.all(settled.map((r) => j.cancel(r.id)));
    const { s } = sender(j, g.port);
    s.start();
    await s.enqueue(answer('MANY-1', 'V-1'), 'V-1');
    await until(() => sentTimes(g, 'MANY-1') === 1, 'sent');
    refuse(g, 'MANY-1');
    await until(() => sentTimes(g, 'MANY-1') === 2, 'resent at its retry', 3_000);
  });

  it('an answer waiting behind its venue’s answer in flight does not make the sender poll the journal', async () => {
    const g = await gap('hold');
    const j = journal();
    const { s } = sender(j, g.port, { window: 2 }); // room for another venue: the queue is looked at
    s.start();
    await s.enqueue(answer('POLL-1', 'V-1'), 'V-1');
    await until(() => g.received.length === 1, 'the first sent');
    const take = jest.spyOn(j, 'take');
    const browse = jest.spyOn(j, 'browseOutbound');
    await s.enqueue(answer('POLL-2', 'V-1'), 'V-1'); // due now, but behind POLL-1
    await sleep(300);
    expect(take.mock.calls.length).toBeLessThanOrEqual(2);
    expect(browse.mock.calls.length).toBeLessThanOrEqual(2);
    g.ack('POLL-1');
    await until(() => g.received.length === 2, 'the second sent once the first is acknowledged');
    expect(g.received[1].controlId).toBe('POLL-2');
  });
});

describe('MllpAnswerSender: an answer queued while waiting to reconnect', () => {
  it('exactly minMs after the last failure: an attempt at once (one attempt per minMs, not fewer)', async () => {
    const port = await freePort();
    const j = journal();
    const connect = jest.spyOn(net, 'connect');
    const realNow = Date.now.bind(Date);
    const failedAt = realNow() - 5_000;
    let frozen: number | undefined = failedAt;
    jest.spyOn(Date, 'now').mockImplementation(() => frozen ?? realNow());
    const { s } = sender(j, port, { reconnect: { minMs: 5_000, maxMs: 5_000 } });
    s.start(); // refused at `failedAt`: the next attempt in 5 s
    await until(() => connect.mock.calls.length === 1, 'first attempt');
    await sleep(100); // the refusal seen
    frozen = failedAt + 5_000;
    await s.enqueue(answer('EDGE-1', 'V-1'), 'V-1');
    frozen = undefined;
    expect(connect.mock.calls.length).toBe(2);
  });
});

describe('MllpAnswerSender: the connection lost during the take, the next one still connecting', () => {
  it('the answer is not written on the connecting socket: back to the queue with its reason, then delivered', async () => {
    const g = await gap('ack');
    const j = journal();
    const connect = net.connect;
    let onNewSocket: () => void = () => undefined;
    jest.spyOn(net, 'connect').mockImplementation(((...args: Parameters<typeof net.connect>) => {
      const sock = connect(...args);
      onNewSocket();
      return sock;
    }) as typeof net.connect);
    const { s, outcomes } = sender(j, g.port);
    s.start();
    await until(() => s.isConnected, 'connected');
    const take = j.take.bind(j);
    let cut = false;
    jest.spyOn(j, 'take').mockImplementation(async (...args: Parameters<SqliteJournal['take']>) => {
      const records = await take(...args);
      if (records.length && !cut) {
        cut = true;
        // The GAP drops the connection while the journal hands the answer out; the answer comes
        // back just as the reconnection has opened its socket, before it is connected.
        const reconnecting = new Promise<void>((r) => (onNewSocket = r));
        g.dropConnections();
        await reconnecting;
      }
      return records;
    });
    const a = await s.enqueue(answer('CONN-1', 'V-1'), 'V-1');
    await until(async () => (await stateOf(j, a.id)) === 'ACKED', 'delivered after reconnecting', 5_000);
    expect(outcomes.map((o) => [o.kind, o.kind === 'retry' ? o.reason : undefined])).toEqual([
      ['retry', 'connexion perdue avant l’envoi'],
      ['acked', undefined],
    ]);
    expect((await j.getOutbound(a.id))!.attempts).toBe(2);
  });
});

describe('MllpAnswerSender: two answers in flight with the same MSH-10', () => {
  it('both are acknowledged in the end (the second is sent again once the first is settled), none stays SENT', async () => {
    const g = await gap('ack');
    const j = journal();
    const { s } = sender(j, g.port, { window: 2, ackTimeoutMs: 300 });
    s.start();
    const a = await s.enqueue(answer('SAME-1', 'V-1'), 'V-1');
    const b = await s.enqueue(answer('SAME-1', 'V-2'), 'V-2');
    await until(async () => (await stateOf(j, a.id)) === 'ACKED' && (await stateOf(j, b.id)) === 'ACKED', 'both acknowledged', 5_000);
  });
});
