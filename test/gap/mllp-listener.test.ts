/**
 * The MLLP listener engine (lib/gap/mllp-listener.ts) over real sockets and a temp SQLite
 * journal, without Node-RED: every message committed on a half-closed connection still gets its
 * ACK (finding 3: 14 of 20 clients never got theirs), and bytes invalid for the declared charset
 * are refused AE with an ERR on MSH-18, kept raw and never handed to the flow (finding 5: the
 * name arrived in the GAP answer as GU?RIN).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { generateTestPki } from '../../lib/security/pki';
import { readAck } from '../../simulator/gap';
import { Peer, adt, startListener, type Ack, type TestListener } from './hostile-peers';

let t: TestListener;

afterEach(async () => {
  await t?.close();
});

/** ADT of Mme GUÉRIN Anaïs whose accented letters are written in ISO 8859-15 while MSH-18 says UTF-8. */
function latin9BytesDeclaredUtf8(controlId: string, o: { enhanced?: boolean } = {}): Buffer {
  const text = adt(controlId, '250100777', o).replace('LEFÈVRE-BŒUF^Hélène', 'GUÉRIN^Anaïs');
  const bytes = Buffer.from(text, 'latin1');
  // Sanity: the bytes really are invalid UTF-8 (É = 0xC9 followed by 'R').
  expect(new TextDecoder('utf-8', { fatal: false }).decode(bytes)).toContain('\uFFFD');
  return bytes;
}

describe('half-close: an ACK for every committed message', () => {
  it('20 clients that send 3 admissions each and end their side at once all get their 3 ACKs, then our FIN', async () => {
    t = await startListener();
    const peers = await Promise.all(Array.from({ length: 20 }, () => Peer.connect(t.port)));
    peers.forEach((p, i) => {
      // one write for the three frames, then the FIN right behind them
      p.socket.end(Buffer.concat([0, 1, 2].map((k) => frame(Buffer.from(adt(`HC-${i}-${k}`, `25010${i}`), 'utf8')))));
    });
    const acks = await Promise.all(peers.map((p) => p.waitFor(() => p.ended, 15_000, 'the server FIN').then(() => p.acks)));
    acks.forEach((a: Ack[], i) => {
      expect(a.map((x) => [x.code, x.controlId])).toEqual([0, 1, 2].map((k) => ['AA', `HC-${i}-${k}`]));
    });
    expect(t.listener.stats.acked).toBe(60);
    // every one was committed (and is processed), none twice
    const rows = await t.listener.journal.browse({ limit: 1000 });
    expect(rows).toHaveLength(60);
    for (const p of peers) p.destroy();
  });

  it('a half-closed peer that sent a frame cut short gets the ACKs of its whole frames; the piece is stored', async () => {
    t = await startListener();
    const p = await Peer.connect(t.port);
    const whole = frame(Buffer.from(adt('HC-WHOLE'), 'utf8'));
    const cut = frame(Buffer.from(adt('HC-CUT', '250100999'), 'utf8')).subarray(0, 200);
    p.socket.end(Buffer.concat([whole, cut]));
    await p.waitFor(() => p.ended, 15_000, 'the server FIN');
    expect(p.acks.map((a) => [a.code, a.controlId])).toEqual([['AA', 'HC-WHOLE']]);
    const rows = await t.listener.journal.browse({ limit: 10 });
    expect(rows).toHaveLength(2);
    const piece = rows.find((r) => r.controlId === undefined && r.state === 'IGNORED');
    expect(piece?.size).toBe(199);
    p.destroy();
  });
});

describe('half-close over TLS', () => {
  it('5 TLS clients that send 2 admissions and end their side get both ACKs', async () => {
    const pki = generateTestPki();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-mllp-tls-'));
    try {
      for (const [f, v] of [
        ['server.crt', pki.serverCert],
        ['server.key', pki.serverKey],
        ['ca.crt', pki.caCert],
      ])
        fs.writeFileSync(path.join(dir, f), v);
      t = await startListener({
        tls: {
          certFile: path.join(dir, 'server.crt'),
          keyFile: path.join(dir, 'server.key'),
          caFile: path.join(dir, 'ca.crt'),
          requestCert: true,
        },
      });
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => {
          const s = tls.connect({
            port: t.port,
            host: '127.0.0.1',
            ca: pki.caCert,
            cert: pki.clientCert,
            key: pki.clientKey,
            servername: 'localhost',
          });
          const d = new MllpDeframer();
          const got: string[] = [];
          s.on('data', (c) => {
            for (const e of d.push(c)) if (e.kind === 'frame') got.push(`${readAck(e.bytes)!.code} ${readAck(e.bytes)!.controlId}`);
          });
          s.on('error', () => undefined);
          s.on('secureConnect', () =>
            s.end(Buffer.concat([0, 1].map((k) => frame(Buffer.from(adt(`TLS-${i}-${k}`, `25010${i}`), 'utf8'))))),
          );
          return new Promise<string[]>((resolve) => {
            const timer = setTimeout(() => resolve(got), 15_000);
            s.on('end', () => {
              clearTimeout(timer);
              s.destroy();
              resolve(got);
            });
          });
        }),
      );
      results.forEach((got, i) => expect(got).toEqual([`AA TLS-${i}-0`, `AA TLS-${i}-1`]));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('honest charsets: invalid UTF-8 declared as UTF-8', () => {
  it('is answered AE with ERR 103 on MSH-18, kept raw in the journal, never handed to the flow', async () => {
    t = await startListener();
    const p = await Peer.connect(t.port);
    const bytes = latin9BytesDeclaredUtf8('CS-BAD-1');
    p.send(bytes);
    p.send(adt('CS-GOOD-1', '250100778'));
    const [bad, good] = await p.waitAcks(2);
    expect(bad.code).toBe('AE');
    expect(bad.controlId).toBe('CS-BAD-1');
    expect(bad.errors.join('\n')).toMatch(/MSH\^1\^18/);
    expect(bad.errors.join('\n')).toMatch(/103\^Table value not found\^HL70357/);
    expect(good.code).toBe('AA');
    // raw bytes kept as received, not re-encoded
    const rows = await t.listener.journal.browse({ limit: 10, order: 'asc' });
    const stored = await t.listener.journal.get(rows[0].id, { raw: true });
    expect(Buffer.compare(stored!.raw!, bytes)).toBe(0);
    expect(stored!.state).toBe('IGNORED');
    // nothing mangled sent on: only the good message reached the flow
    await new Promise((r) => setTimeout(r, 100));
    expect(t.dispatched.map((d) => d.intake.context.controlId)).toEqual(['CS-GOOD-1']);
    for (const d of t.dispatched) expect(d.text ?? '').not.toMatch(/GU\?RIN|\uFFFD/);
    p.destroy();
  });

  it('enhanced mode: CA (stored) then AE naming MSH-18; a corrected resend with the same MSH-10 is processed', async () => {
    t = await startListener();
    const p = await Peer.connect(t.port);
    p.send(latin9BytesDeclaredUtf8('CS-BAD-2', { enhanced: true }));
    const [commit, app] = await p.waitAcks(2);
    expect([commit.code, app.code]).toEqual(['CA', 'AE']);
    expect(app.errors.join('\n')).toMatch(/MSH\^1\^18.*103/s);
    p.send(adt('CS-BAD-2', '250100777', { enhanced: true }).replace('LEFÈVRE-BŒUF^Hélène', 'GUÉRIN^Anaïs'));
    const acks = await p.waitAcks(4);
    expect(acks.slice(2).map((a) => a.code)).toEqual(['CA', 'AA']);
    await new Promise((r) => setTimeout(r, 100));
    expect(t.dispatched).toHaveLength(1);
    expect(t.dispatched[0].intake.admission?.patient).toBeDefined();
    expect(t.dispatched[0].text).toContain('GUÉRIN^Anaïs');
    p.destroy();
  });
});

describe('a raw client: one ACK per frame in the order sent', () => {
  it('several frames in one write are answered in order', async () => {
    t = await startListener();
    const s = net.connect(t.port, '127.0.0.1');
    const d = new MllpDeframer();
    const got: string[] = [];
    s.on('data', (c) => {
      for (const e of d.push(c)) if (e.kind === 'frame') got.push(readAck(e.bytes)!.controlId);
    });
    await new Promise((r) => s.once('connect', r));
    s.write(Buffer.concat(['O-1', 'O-2', 'O-3'].map((id, i) => frame(Buffer.from(adt(id, `2501004${i}`), 'utf8')))));
    const end = Date.now() + 10_000;
    while (got.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual(['O-1', 'O-2', 'O-3']);
    s.destroy();
  });
});
