/**
 * The roc-journal config node: roc-mllp-in and two roc-mllp-out on one roc-journal share ONE open
 * journal (lib/store registry); redeploying one node (a "modified nodes" deploy) keeps the others
 * working and never requeues another live sender's unacknowledged answer; the journal closes when
 * the last user goes.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import journalNode from '../../nodes/roc-journal/roc-journal';
import mllpInNode from '../../nodes/roc-mllp-in/roc-mllp-in';
import mllpOutNode from '../../nodes/roc-mllp-out/roc-mllp-out';
import { GapAnswerListener } from '../../simulator/gap';
import { MllpDeframer } from '../../lib/hl7/mllp';
import { journals } from '../../lib/store';
import type { IdbResult } from '../../lib/model/dossier';
import { MllpPeer, waitFor } from '../support/mllp-peer';

helper.init(require.resolve('node-red'));

const FIXTURE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');
function adt(controlId: string, venue: string): string {
  return FIXTURE.replace('A01-UTF8-0001', controlId).replace(/250100421/g, venue);
}

const IDB_OK: IdbResult = {
  service: 'idb',
  status: 'OK',
  technical: false,
  messages: [],
  requestId: 'REQ-1',
  latencyMs: 380,
  attempts: 1,
  at: '2026-11-20T08:15:00Z',
  couverture: { numeroContrat: 'CT-2026-0042', periodes: [{ debut: '2026-01-01', fin: '2026-12-31' }], domaines: ['HOSPITALISATION'] },
  consignes: [],
};
function dossier(venue: string, tag: string) {
  return {
    amc: { numeroAmc: '0077554321' },
    beneficiaire: { nir: '2850430189042', dateNaissance: '1985-04-12', nom: 'MARTIN', prenom: 'Camille' },
    venue: { type: 'HOSPITALISATION', dateEntree: '2026-11-20', numeroDossier: `NDA-${venue}`, numeroVenue: venue },
    idb: { ...IDB_OK, requestId: tag },
  };
}

/** A GAP answer listener that takes frames and never acknowledges them. */
class SilentGap {
  frames = 0;
  port = 0;
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  async start(): Promise<number> {
    this.server = net.createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
      const d = new MllpDeframer();
      s.on('data', (c) => {
        for (const e of d.push(c)) if (e.kind === 'frame') this.frames++;
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-journal-node-'));
  file = path.join(dir, 'roc-journal.sqlite');
});
afterEach(async () => {
  await helper.unload();
  await journals.settled();
  fs.rmSync(dir, { recursive: true, force: true });
});

function flow(silentPort: number, ackingPort: number, o: { outBName?: string; inName?: string } = {}) {
  return [
    { id: 't', type: 'tab', label: 'GAP' },
    { id: 'j1', type: 'roc-journal', name: 'journal CHU', file, synchronous: 'NORMAL', retentionDays: 30, version: 1 },
    {
      id: 'in',
      type: 'roc-mllp-in',
      z: 't',
      name: o.inName ?? 'GAP MLLP',
      host: '127.0.0.1',
      port: '0',
      journal: 'j1',
      version: 1,
      wires: [['got']],
    },
    { id: 'got', type: 'helper', z: 't', wires: [] },
    {
      id: 'outA',
      type: 'roc-mllp-out',
      z: 't',
      name: 'GAP silencieux',
      host: '127.0.0.1',
      port: silentPort,
      charset: 'utf8',
      journal: 'j1',
      version: 1,
      ackTimeout: 600,
      reconnectMin: 0.02,
      reconnectMax: 0.1,
      outputs: 2,
      wires: [['okA'], []],
    },
    { id: 'okA', type: 'helper', z: 't', wires: [] },
    {
      id: 'outB',
      type: 'roc-mllp-out',
      z: 't',
      name: o.outBName ?? 'GAP',
      host: '127.0.0.1',
      port: ackingPort,
      charset: 'utf8',
      journal: 'j1',
      version: 1,
      ackTimeout: 5,
      reconnectMin: 0.02,
      reconnectMax: 0.1,
      outputs: 2,
      wires: [['okB'], []],
    },
    { id: 'okB', type: 'helper', z: 't', wires: [] },
  ];
}

/** Polls an async condition; rejects after a generous bound. */
async function eventually(cond: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 15000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function rowsOf(destination: string) {
  // read through the shared instance itself: a second instance is what this node replaces
  const lease = await journals.acquire(file, {});
  try {
    return await lease.journal.browseOutbound({ destination, limit: 100 });
  } finally {
    await lease.release();
  }
}

describe('roc-journal: one journal shared by the MLLP nodes', () => {
  it('the listener and both senders use the same open journal, with the config node’s durability; it closes with the last user', async () => {
    const silent = new SilentGap();
    const gap = new GapAnswerListener();
    const sp = await silent.start();
    const { port: gp } = await gap.start();
    try {
      await helper.load([journalNode, mllpInNode, mllpOutNode], flow(sp, gp));
      const listener = await waitFor(() => helper.getNode('in').listener, 'listener');
      expect(listener.journal).toBe(helper.getNode('outA').journal);
      expect(listener.journal).toBe(helper.getNode('outB').journal);
      expect(listener.journal.synchronous).toBe('NORMAL');
      expect(journals.files()).toEqual([path.resolve(file)]);
      expect(journals.refs(file)).toBe(3);

      // the listener takes a message; a sender answers through the same journal
      const port = await waitFor(() => listener.port, 'listener bound');
      const got: any[] = [];
      helper.getNode('got').on('input', (m: any) => got.push(m));
      const peer = await MllpPeer.connect(port);
      peer.send(adt('SHARE-0001', '250100421'));
      const acks = await peer.waitAcks(1);
      peer.end();
      expect(acks[0]).toMatchObject({ code: 'AA', controlId: 'SHARE-0001' });
      await waitFor(() => got.length === 1, 'the message out of roc-mllp-in');
      const okB: any[] = [];
      helper.getNode('okB').on('input', (m: any) => okB.push(m));
      helper.getNode('outB').receive({ roc: dossier('250100421', 'partage'), hl7: got[0].hl7 });
      await waitFor(() => okB.length === 1, 'the answer acknowledged');
      expect(okB[0].roc.gapAnswer.state).toBe('ACKED');

      await helper.unload();
      await journals.settled();
      expect(journals.refs(file)).toBe(0);
      expect(journals.files()).toEqual([]);
    } finally {
      await silent.stop();
      await gap.stop();
    }
  });

  it('redeploying one sender neither requeues the other’s unacknowledged answer nor stops the listener', async () => {
    const silent = new SilentGap();
    const gap = new GapAnswerListener();
    const sp = await silent.start();
    const { port: gp } = await gap.start();
    try {
      await helper.load([journalNode, mllpInNode, mllpOutNode], flow(sp, gp));
      const listener = await waitFor(() => helper.getNode('in').listener, 'listener');
      const shared = listener.journal;
      // sender A: its answer is SENT, the silent GAP never acknowledges it
      helper.getNode('outA').receive({ roc: dossier('250100500', 'en-vol') });
      await waitFor(() => silent.frames === 1, 'the frame at the silent GAP');
      const destA = `mllp:127.0.0.1:${sp}`;
      await eventually(async () => (await rowsOf(destA))[0]?.state === 'SENT', 'SENT');

      // "modified nodes" deploy of sender B only (renamed), then of the listener
      await helper.setFlows(flow(sp, gp, { outBName: 'GAP (renommé)' }), 'nodes');
      await helper.setFlows(flow(sp, gp, { outBName: 'GAP (renommé)', inName: 'GAP MLLP 2' }), 'nodes');
      const listener2 = await waitFor(() => helper.getNode('in').listener, 'listener again');
      expect(listener2).not.toBe(listener);
      expect(listener2.journal).toBe(shared); // never closed: sender A held it all along
      expect(helper.getNode('outB').journal).toBe(shared);

      // A's answer is still SENT, sent once: nobody requeued it behind its back
      const a = await rowsOf(destA);
      expect(a.map((r) => [r.state, r.attempts])).toEqual([['SENT', 1]]);
      expect(silent.frames).toBe(1);

      // the redeployed nodes work: a message in, an answer out
      const port = await waitFor(() => listener2.port, 'listener bound');
      const peer = await MllpPeer.connect(port);
      peer.send(adt('SHARE-0002', '250100600'));
      const acks = await peer.waitAcks(1);
      peer.end();
      expect(acks[0]).toMatchObject({ code: 'AA', controlId: 'SHARE-0002' });
      const okB: any[] = [];
      helper.getNode('okB').on('input', (m: any) => okB.push(m));
      helper.getNode('outB').receive({ roc: dossier('250100600', 'apres-redeploiement') });
      await waitFor(() => okB.length === 1, 'the answer after the redeploy');
      expect(gap.received).toHaveLength(1);
    } finally {
      await helper.unload();
      await silent.stop();
      await gap.stop();
    }
  });

  it('two listeners on one roc-journal: the second refuses to start, the first keeps working', async () => {
    const nodes = [
      { id: 't', type: 'tab', label: 'GAP' },
      { id: 'j1', type: 'roc-journal', file, version: 1 },
      { id: 'in1', type: 'roc-mllp-in', z: 't', host: '127.0.0.1', port: '0', journal: 'j1', version: 1, wires: [[]] },
      { id: 'in2', type: 'roc-mllp-in', z: 't', host: '127.0.0.1', port: '0', journal: 'j1', version: 1, wires: [[]] },
    ];
    await helper.load([journalNode, mllpInNode], nodes);
    const l1 = await waitFor(() => helper.getNode('in1').listener, 'first listener');
    expect(helper.getNode('in2').listener).toBeUndefined();
    expect(journals.refs(file)).toBe(1);
    const peer = await MllpPeer.connect(await waitFor(() => l1.port, 'bound'));
    peer.send(adt('SHARE-0003', '250100700'));
    expect((await peer.waitAcks(1))[0].code).toBe('AA');
    peer.end();
  });

  it('a roc-mllp-out whose roc-journal is missing says so and takes no answer', async () => {
    const nodes = [
      { id: 't', type: 'tab', label: 'GAP' },
      { id: 'out', type: 'roc-mllp-out', z: 't', host: '127.0.0.1', port: 2576, journal: 'absent', version: 1, wires: [[], []] },
    ];
    await helper.load([journalNode, mllpOutNode], nodes);
    const node = helper.getNode('out');
    expect(node.journal).toBeUndefined();
    expect(journals.files()).toEqual([]);
  });
});
