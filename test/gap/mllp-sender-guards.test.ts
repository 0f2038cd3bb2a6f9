/**
 * The MLLP answer sender (lib/gap/mllp-sender.ts) where its mutation run (issue 12) found no test:
 * answers delivered to a GAP listening over TLS (the options passed to tls.connect, the
 * `secureConnect` wait); the connection lost between the journal's take and the write (the answer
 * goes back to the queue with its reason, then is delivered); a journal that cannot hand out work
 * (`fault` with the journal's error, none once closed). 127.0.0.1, port 0.
 */
import { type SqliteJournal } from '../../lib/store/sqlite';
import { generateTestPki } from '../../lib/security/pki';
import { answer, senderHarness, sleep, stateOf, until, type SenderOptions } from './sender-rig';

const h = senderHarness('roc-sender-guards-');
const { journal, gap } = h;
/** Reconnection within 20 to 100 ms unless a test says otherwise. */
const sender = (j: SqliteJournal, port: number, extra: SenderOptions = {}) =>
  h.sender(j, port, { reconnect: { minMs: 20, maxMs: 100 }, ...extra });

describe('MllpAnswerSender over TLS', () => {
  const pki = generateTestPki();

  it('delivers to a GAP listening over TLS, once the handshake is done, checking its certificate', async () => {
    const g = await gap('ack', { cert: pki.serverCert, key: pki.serverKey });
    const j = journal();
    const { s } = sender(j, g.port, { tls: { ca: pki.caCert, servername: 'localhost' } });
    s.start();
    const a = await s.enqueue(answer('TLS-1', 'V-1'), 'V-1');
    await until(async () => (await stateOf(j, a.id)) === 'ACKED', 'acked over TLS', 5_000);
    expect(s.connects).toBe(1);
    expect(g.received.map((r) => r.controlId)).toEqual(['TLS-1']);
  });

  it('a GAP whose certificate the sender does not trust gets nothing', async () => {
    const other = generateTestPki();
    const g = await gap('ack', { cert: other.serverCert, key: other.serverKey });
    const j = journal();
    const { s } = sender(j, g.port, { tls: { ca: pki.caCert, servername: 'localhost' } });
    s.start();
    const a = await s.enqueue(answer('TLS-2', 'V-1'), 'V-1');
    await sleep(300); // several attempts (minMs 20), each refused at the handshake
    expect(s.connects).toBe(0);
    expect(g.received).toEqual([]);
    expect(await stateOf(j, a.id)).toBe('QUEUED');
  });
});

describe('MllpAnswerSender: the connection lost between the take and the write', () => {
  it('the answer goes back to the queue with its reason, then is delivered on the next connection', async () => {
    const g = await gap('ack');
    const j = journal();
    const { s, outcomes } = sender(j, g.port);
    s.start();
    await until(() => s.isConnected, 'connected');
    const take = j.take.bind(j);
    let cut = false;
    jest.spyOn(j, 'take').mockImplementation(async (...args: Parameters<SqliteJournal['take']>) => {
      const records = await take(...args);
      if (records.length && !cut) {
        // The GAP drops the connection while the journal hands the answer out.
        cut = true;
        g.dropConnections();
        await until(() => !s.isConnected, 'the loss seen');
      }
      return records;
    });
    const a = await s.enqueue(answer('CUT-1', 'V-1'), 'V-1');
    await until(async () => (await stateOf(j, a.id)) === 'ACKED', 'delivered after reconnecting', 5_000);
    expect(outcomes.map((o) => [o.kind, o.kind === 'retry' ? o.reason : undefined])).toEqual([
      ['retry', 'connexion perdue avant l’envoi'],
      ['acked', undefined],
    ]);
    expect(g.received.map((r) => r.controlId)).toEqual(['CUT-1']);
    expect((await j.getOutbound(a.id))!.attempts).toBe(2);
  });
});

describe('MllpAnswerSender: a journal that cannot hand out work', () => {
  it('says fault with the journal’s error; once closed, says nothing', async () => {
    const g = await gap('ack');
    const j = journal();
    const { s, faults } = sender(j, g.port);
    const broken = new Error('SQLITE_IOERR: disk I/O error');
    const take = jest.spyOn(j, 'take').mockRejectedValueOnce(broken);
    s.start();
    await until(() => faults.length > 0, 'fault');
    expect(faults).toEqual([broken]);
    // A take still pending when the sender closes: its failure is not reported.
    let fail: (e: Error) => void = () => undefined;
    take.mockImplementationOnce(() => new Promise((_, reject) => (fail = reject)));
    await s.enqueue(answer('CLS-1', 'V-1'), 'V-1');
    await until(() => take.mock.calls.length >= 2, 'the next take');
    s.close();
    fail(broken);
    await sleep(50);
    expect(faults).toEqual([broken]);
  });
});

describe('MllpAnswerSender: an answer without MSH-10', () => {
  it('is kept in flight under its journal id: an ACK with an empty MSA-2 does not settle it', async () => {
    const g = await gap('hold');
    const j = journal();
    const { s } = sender(j, g.port, { ackTimeoutMs: 10_000 });
    s.start();
    const a = await s.enqueue(answer('', 'V-1'), 'V-1');
    await until(() => g.received.length === 1, 'sent');
    g.ack('');
    await until(() => s.unmatchedAcks === 1, 'the ACK read');
    expect(await stateOf(j, a.id)).toBe('SENT');
  });
});
