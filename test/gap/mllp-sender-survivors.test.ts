/**
 * The MLLP answer sender (lib/gap/mllp-sender.ts): what its mutation run left open after the
 * events and guards tests. A sender closed while the journal recovers its answers at start says
 * nothing; a closed sender never connects again; a GAP that accepts TCP but never completes the
 * TLS handshake is given up after connectTimeoutMs and tried again. 127.0.0.1, port 0.
 */
import net from 'node:net';
import { type SqliteJournal } from '../../lib/store/sqlite';
import { generateTestPki } from '../../lib/security/pki';
import { answer, senderHarness, sleep, stateOf, until, type SenderOptions } from './sender-rig';

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
