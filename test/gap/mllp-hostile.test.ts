/**
 * Finding 3 replayed against the real listener (no Node-RED): hostile peers cannot starve the GAP
 * intake. Timeouts are shortened through the listener options so each case takes seconds.
 *
 * Loopback is 127.0.0.0/8 on Linux: the real GAP connects from 127.0.0.2 in the 500-connection
 * case so the per-address cap is exercised as in a hospital (hostile hosts elsewhere), and from
 * 127.0.0.1 — the same address as the hostile ones — in the 50-connection case.
 */
import net from 'node:net';
import { frame } from '../../lib/hl7/mllp';
import { Peer, adt, hostile, sleep, startListener, until, type Hostile, type TestListener } from './hostile-peers';

let t: TestListener | undefined;
let hostiles: Hostile[] = [];

afterEach(async () => {
  for (const h of hostiles) h.stop();
  hostiles = [];
  await t?.close();
  t = undefined;
});

/** The GAP sends `n` admissions one at a time (window 1) and returns the ACK codes. */
async function gapSends(p: Peer, prefix: string, n: number): Promise<string[]> {
  for (let i = 0; i < n; i++) {
    p.send(adt(`${prefix}-${i}`, `2501${String(i).padStart(5, '0')}`));
    await p.waitAcks(i + 1, 10_000);
  }
  return p.acks.map((a) => `${a.code} ${a.controlId}`);
}

describe('50 idle or dribbling connections and a real GAP', () => {
  it('the GAP is admitted and served; the dribblers are closed by the frame deadline, the idle ones by the idle timeout', async () => {
    t = await startListener({ maxConnections: 50, idleTimeoutMs: 2000, frameTimeoutMs: 1200, evictGraceMs: 200 });
    // 25 idle + 25 dribbling (one byte every 200 ms: the 2 s of the finding, shortened)
    hostiles = await Promise.all(Array.from({ length: 50 }, (_, i) => hostile(t!.port, i % 2 ? 'dribble' : 'idle', { everyMs: 200 })));
    await until(() => t!.listener.connections >= 20, 3000);
    await sleep(300); // past the eviction grace
    const gap = await Peer.connect(t.port);
    expect(await gapSends(gap, 'GAP', 10)).toEqual(Array.from({ length: 10 }, (_, i) => `AA GAP-${i}`));
    // the cap per address (20 by default) and in all (50) held
    expect(t.listener.connections).toBeLessThanOrEqual(21);
    // within a few seconds every hostile connection is closed by the listener; the GAP, which
    // keeps sending (a message every 300 ms), stays connected and served
    const end = Date.now() + 8000;
    let n = 0;
    while (!hostiles.every((h) => h.closed) && Date.now() < end) {
      gap.send(adt(`GAP2-${n}`, '250100042'));
      await gap.waitAcks(10 + ++n, 5000);
      await sleep(300);
    }
    expect(hostiles.filter((h) => !h.closed)).toHaveLength(0);
    expect(gap.ended).toBe(false);
    expect(gap.acks.every((a) => a.code === 'AA')).toBe(true);
    const s = t.listener.stats;
    expect(s.refused + s.evicted).toBeGreaterThan(0);
    expect(s.frameTimeouts).toBeGreaterThan(0);
    expect(s.idleClosed).toBeGreaterThan(0);
    gap.destroy();
  }, 30_000);

  it('a peer dribbling one byte of a frame at a time is closed at the frame deadline, its piece answered AR', async () => {
    t = await startListener({ idleTimeoutMs: 0, frameTimeoutMs: 600 });
    const p = await Peer.connect(t.port);
    const bytes = frame(Buffer.from(adt('SLOW-1'), 'utf8'));
    // the MSH line at once, then one byte every 50 ms
    let i = 300;
    p.socket.write(bytes.subarray(0, i));
    const timer = setInterval(() => {
      if (!p.socket.destroyed && p.socket.writable && i < bytes.length - 1) p.socket.write(bytes.subarray(i, ++i));
    }, 50);
    try {
      await p.waitFor(() => p.ended, 5000, 'the listener to end the connection');
    } finally {
      clearInterval(timer);
    }
    expect(p.acks).toHaveLength(1);
    expect(p.acks[0].code).toBe('AR');
    expect(p.acks[0].controlId).toBe('SLOW-1');
    expect(p.acks[0].errors.join('\n')).toMatch(/non terminée en 1 s|non terminée en 0 s/);
    expect(t.listener.stats.frameTimeouts).toBe(1);
    p.destroy();
  });

  it('bytes alone do not keep a connection open: the idle timeout counts complete frames', async () => {
    t = await startListener({ idleTimeoutMs: 800, frameTimeoutMs: 0 });
    const p = await Peer.connect(t.port);
    // blank bytes outside frames every 100 ms (ignored, never answered)
    const timer = setInterval(() => {
      if (!p.socket.destroyed && p.socket.writable) p.socket.write('\r');
    }, 100);
    try {
      await p.waitFor(() => p.ended, 5000, 'the idle timeout');
    } finally {
      clearInterval(timer);
    }
    expect(t.listener.stats.idleClosed).toBe(1);
    p.destroy();
  });
});

describe('500 hostile connections and a real GAP', () => {
  it('default caps: hostile hosts fill their share, the GAP from its own address is served', async () => {
    t = await startListener({ idleTimeoutMs: 3000, frameTimeoutMs: 2000, evictGraceMs: 200 });
    const kinds: Hostile['kind'][] = ['idle', 'dribble', 'idle', 'dribble', 'nonreader'];
    // 5 hostile hosts (127.0.0.1, .3, .4, .5, .6) × 100 connections: idle, dribbling, non-reading
    const opened: Promise<Hostile>[] = [];
    for (let i = 0; i < 500; i++) {
      const host = Math.floor(i / 100);
      const local = host === 0 ? '127.0.0.1' : `127.0.0.${host + 2}`;
      opened.push(hostile(t.port, kinds[i % 5], { everyMs: 300, localAddress: local }));
    }
    hostiles = await Promise.all(opened);
    let maxSeen = 0;
    const sampler = setInterval(() => (maxSeen = Math.max(maxSeen, t!.listener.connections)), 10);
    try {
      await sleep(300);
      const gap = await Peer.connect(t.port, '127.0.0.2');
      expect(await gapSends(gap, 'GAP', 20)).toEqual(Array.from({ length: 20 }, (_, i) => `AA GAP-${i}`));
      expect(gap.closed).toBe(false);
      gap.destroy();
    } finally {
      clearInterval(sampler);
    }
    expect(maxSeen).toBeLessThanOrEqual(100);
    const s = t.listener.stats;
    expect(s.refused).toBeGreaterThan(0);
  }, 30_000);

  it('caps raised: 500 hostile connections really open at once, the GAP is still served', async () => {
    t = await startListener({ maxConnections: 1000, maxConnectionsPerAddress: 0, idleTimeoutMs: 20_000, frameTimeoutMs: 20_000 });
    const kinds: Hostile['kind'][] = ['idle', 'dribble', 'idle', 'dribble', 'nonreader'];
    hostiles = await Promise.all(Array.from({ length: 500 }, (_, i) => hostile(t!.port, kinds[i % 5], { everyMs: 500 })));
    expect(await until(() => t!.listener.connections >= 500, 5000)).toBe(true);
    const gap = await Peer.connect(t.port);
    expect(await gapSends(gap, 'GAP', 20)).toEqual(Array.from({ length: 20 }, (_, i) => `AA GAP-${i}`));
    expect(t.listener.connections).toBe(501);
    gap.destroy();
  }, 30_000);
});

describe('a peer that sends and never reads its ACKs', () => {
  it('is paused then closed; the listener’s buffered bytes stay bounded; a GAP is served meanwhile', async () => {
    const backlog = 16 * 1024;
    const hardLimit = 64 * 1024;
    t = await startListener({
      ackBacklogBytes: backlog,
      maxAckBacklogBytes: hardLimit,
      idleTimeoutMs: 1500,
      frameTimeoutMs: 2000,
      commitWindowMs: 5,
    });
    const { listener } = t;
    const bad = net.connect({ port: t.port, host: '127.0.0.1' });
    bad.on('error', () => undefined);
    await new Promise((r) => bad.once('connect', r));
    bad.pause(); // never reads
    let badClosed = false;
    bad.on('close', () => (badClosed = true));
    // Invalid admissions (no PID-3, no PV1) get long AE answers with several ERR segments.
    const junk = (i: number) =>
      frame(Buffer.from(`MSH|^~\\&|GAP|CHU|ROC|CHU|20250114093512||ADT^A01^ADT_A01|NR-${i}|P|2.5|||||FRA|UNICODE UTF-8\rPID|1\r`, 'utf8'));
    let maxBuffered = 0;
    let sent = 0;
    const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, listener.bufferedBytes)), 5);
    // On a fast machine the hostile peer can be paused and closed between two turns of the loop
    // below: the GAP is then served right after (it connects late so that the idle timeout of
    // 1.5 s does not close it while the peer floods).
    let gap: Peer | undefined;
    let gapServed: string[] | undefined;
    try {
      // write until the socket to the listener is stuck (the listener stopped reading) or closed
      const deadline = Date.now() + 20_000;
      while (!badClosed && Date.now() < deadline) {
        if (bad.writableLength > 256 * 1024) {
          await sleep(50);
          if (listener.pausedConnections > 0 || listener.stats.backlogClosed > 0) {
            // it is paused: a GAP is still served while it is
            if (!gap) {
              gap = await Peer.connect(t.port);
              gapServed = await gapSends(gap, 'GAP', 3);
            }
            if (listener.stats.backlogClosed > 0 || listener.stats.idleClosed > 0) break;
          }
          continue;
        }
        const batch: Buffer[] = [];
        for (let k = 0; k < 50; k++) batch.push(junk(sent++));
        bad.write(Buffer.concat(batch));
        await sleep(1);
      }
      expect(listener.stats.paused).toBeGreaterThan(0);
      // closed: by the hard limit or the idle timeout (it delivers no more frames while paused)
      expect(await until(() => badClosed || listener.connections === 1, 10_000)).toBe(true);
    } finally {
      clearInterval(sampler);
      bad.destroy();
    }
    console.log(
      `non-reading peer: ${sent} messages written, listener buffered at most ${maxBuffered} bytes, stats ${JSON.stringify(listener.stats)}`,
    );
    // bounded: the backlog limit plus the ACKs of one read chunk, far from the megabytes sent
    expect(sent).toBeGreaterThan(1000);
    expect(maxBuffered).toBeLessThan(hardLimit + 512 * 1024);
    // served while the peer was paused, or (if it was closed before the loop saw the pause) right after
    if (!gap) {
      gap = await Peer.connect(t.port);
      gapServed = await gapSends(gap, 'GAP', 3);
    }
    expect(gapServed).toEqual(['AA GAP-0', 'AA GAP-1', 'AA GAP-2']);
    gap.destroy();
  }, 40_000);
});
