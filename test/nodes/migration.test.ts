/**
 * Flows saved by 0.1 still load and behave the same. test/fixtures/flows/roc-bridge-v0.1.json is
 * a copy of the shipped flows/roc-bridge.json as 0.1 saved it (roc-mllp-in with its `journal` path
 * string, `synchronous`, the TLS checkbox and path fields; roc-mllp-out with `dbPath`; no
 * `version`, no roc-journal node). Loaded as it is in node-red-node-test-helper: every node starts,
 * the journal opens once for both MLLP nodes, and a GAP admission is acknowledged, checked with
 * the AMC simulator and answered to the GAP as before.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import { GapAnswerListener } from '../../simulator/gap';
import { encodeGapMessage, gapDay } from '../../simulator/gap-day';
import { parseEr7 } from '../../lib/hl7/er7';
import { frame, MllpDeframer } from '../../lib/hl7/mllp';
import { readAck } from '../../simulator/gap';
import { journals } from '../../lib/store';
import { MLLP_IN_MIGRATIONS, MLLP_OUT_MIGRATIONS, migrate, versionOf } from '../../nodes/common/migrate';
import { startFlowEnv, type FlowEnv } from '../support/flow-env';
import { waitFor } from '../support/mllp-peer';

/* eslint-disable @typescript-eslint/no-require-imports */
const NODES = [
  require('../../nodes/roc-establishment/roc-establishment'),
  require('../../nodes/roc-journal/roc-journal'),
  require('../../nodes/roc-annuaire/roc-annuaire'),
  require('../../nodes/roc-idb/roc-idb'),
  require('../../nodes/roc-sim/roc-sim'),
  require('../../nodes/roc-clc/roc-clc'),
  require('../../nodes/roc-del/roc-del'),
  require('../../nodes/roc-datamatrix/roc-datamatrix'),
  require('../../nodes/roc-desk-request/roc-desk-request'),
  require('../../nodes/roc-desk-answer/roc-desk-answer'),
  require('../../nodes/roc-hl7-admission/roc-hl7-admission'),
  require('../../nodes/roc-mllp-in/roc-mllp-in'),
  require('../../nodes/roc-mllp-out/roc-mllp-out'),
  require('@node-red/nodes/core/common/90-comment.js'),
  require('@node-red/nodes/core/function/15-change.js'),
  require('@node-red/nodes/core/function/10-switch.js'),
  require('@node-red/nodes/core/network/21-httpin.js'),
  require('@node-red/nodes/core/parsers/70-JSON.js'),
  require('@node-red/nodes/core/storage/10-file.js'),
];
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve('node-red'));
jest.setTimeout(60000);
// The helper loads its core catch/status module once per such NODE of the flow (the shipped flow
// has five catch nodes): register each once per load.
{
  const modules = (helper as { _nodeModules: Record<string, (red: object) => unknown> })._nodeModules;
  for (const type of Object.keys(modules)) {
    const load = modules[type];
    const seen = new WeakSet<object>();
    modules[type] = (red: object) => {
      if (seen.has(red)) return undefined;
      seen.add(red);
      return load(red);
    };
  }
}

const V01 = path.join(__dirname, '..', 'fixtures', 'flows', 'roc-bridge-v0.1.json');
type Def = Record<string, unknown> & { id: string; type: string };
const saved = (): Def[] => JSON.parse(fs.readFileSync(V01, 'utf8'));

describe('settings migrations (pure)', () => {
  it('the 0.1 roc-mllp-in of the shipped flow: implicit default journal, no TLS, version 1', () => {
    const def = saved().find((n) => n.type === 'roc-mllp-in')!;
    expect(versionOf(def)).toBe(0);
    const m = migrate(def, MLLP_IN_MIGRATIONS);
    expect(m).toMatchObject({
      version: 1,
      journal: '',
      journalFile: '',
      usetls: false,
      tls: '',
      synchronous: 'FULL',
      port: '${ROC_MLLP_PORT}',
    });
    expect(def.journal).toBe(''); // the saved definition itself is left alone
    expect(def.version).toBeUndefined();
  });

  it('a 0.1 roc-mllp-in with its own file and TLS path fields keeps them as the implicit journal and the legacy TLS', () => {
    const m = migrate(
      {
        id: 'in',
        type: 'roc-mllp-in',
        journal: '/srv/roc/chu-nord.sqlite',
        synchronous: 'NORMAL',
        retentionDays: 90,
        tls: true,
        certFile: '/etc/roc/gap.crt',
        keyFile: '/etc/roc/gap.key',
        caFile: '/etc/roc/ca.crt',
        requestCert: 'true',
      },
      MLLP_IN_MIGRATIONS,
    );
    expect(m).toMatchObject({
      version: 1,
      journal: '',
      journalFile: '/srv/roc/chu-nord.sqlite',
      synchronous: 'NORMAL',
      retentionDays: 90,
      usetls: true,
      tls: '',
      certFile: '/etc/roc/gap.crt',
      requestCert: 'true',
    });
  });

  it('a roc-mllp-in already at version 1 is left as it is (its journal is a config node id)', () => {
    const v1 = { id: 'in', type: 'roc-mllp-in', version: 1, journal: 'j1', usetls: true, tls: 'tls1' };
    expect(migrate(v1, MLLP_IN_MIGRATIONS)).toEqual(v1);
  });

  it('the 0.1 roc-mllp-out: dbPath becomes the implicit journal file; its other settings stay', () => {
    const def = saved().find((n) => n.type === 'roc-mllp-out')!;
    const m = migrate(def, MLLP_OUT_MIGRATIONS);
    expect(m).toMatchObject({ version: 1, journal: '', journalFile: '', retryBase: 2, retryMax: 300, maxAttempts: 5, usetls: false });
    expect(m.dbPath).toBeUndefined();
    expect(migrate({ id: 'o', type: 'roc-mllp-out', dbPath: '/srv/roc/j.sqlite' }, MLLP_OUT_MIGRATIONS).journalFile).toBe(
      '/srv/roc/j.sqlite',
    );
  });
});

describe('the 0.1 shipped flow, loaded as saved', () => {
  let env: FlowEnv;
  let gap: GapAnswerListener;
  const saveEnv = { ...process.env };

  beforeAll(async () => {
    env = await startFlowEnv('roc-migration-');
    gap = new GapAnswerListener();
    const { port } = await gap.start();
    Object.assign(process.env, {
      ROC_MLLP_HOST: '127.0.0.1',
      ROC_MLLP_PORT: '0',
      ROC_GAP_ANSWER_HOST: '127.0.0.1',
      ROC_GAP_ANSWER_PORT: String(port),
      ROC_USER_DIR: path.join(env.dir, 'userdir'),
    });
  });
  afterAll(async () => {
    await helper.unload();
    await journals.settled();
    await gap.stop();
    await env.close();
    for (const k of ['ROC_MLLP_HOST', 'ROC_MLLP_PORT', 'ROC_GAP_ANSWER_HOST', 'ROC_GAP_ANSWER_PORT', 'ROC_USER_DIR']) {
      if (saveEnv[k] === undefined) delete process.env[k];
      else process.env[k] = saveEnv[k];
    }
  });

  it('every node starts; one journal (the default file) for the listener and the answer sender; a GAP admission is acknowledged, checked and answered', async () => {
    const flow = saved();
    // the file is the copy of the shipped flow, byte for byte a 0.1 flow: no version, no roc-journal
    expect(flow.some((n) => n.type === 'roc-journal' || n.version !== undefined)).toBe(false);
    const nodes = flow.map((n) => (n.type === 'debug' ? { id: n.id, z: n.z, type: 'helper', wires: [] } : n));
    await helper.load(NODES, nodes);
    for (const n of nodes) if (n.type !== 'tab') expect(helper.getNode(n.id)).toBeTruthy();

    const listenerNode = helper.getNode('gap-mllp');
    const sender = helper.getNode('gap-answer');
    const listener = await waitFor(() => listenerNode.listener, 'the listener');
    const file = path.join(env.dir, 'userdir', 'roc-journal.sqlite');
    expect(journals.files()).toEqual([path.resolve(file)]);
    expect(journals.refs(file)).toBe(2);
    expect(sender.journal).toBe(listener.journal);
    expect(listener.journal.synchronous).toBe('FULL');
    // opened by the listener (created first), yet with the answer sender's retry delay, as in 0.1
    expect([listener.journal.backoffMs(1), listener.journal.backoffMs(64)]).toEqual([2000, 300_000]);

    let a01;
    for (const m of gapDay({ messages: 400, venues: 6, seed: 5 })) if (m.event === 'A01' && m.scenario === 'droits-ok') a01 ??= m;
    const port = await waitFor(() => listener.port, 'listener bound');
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const ack = new Promise<ReturnType<typeof readAck>>((resolve) => {
      const d = new MllpDeframer();
      socket.on('data', (c) => {
        for (const e of d.push(c)) if (e.kind === 'frame') resolve(readAck(e.bytes));
      });
    });
    socket.write(frame(encodeGapMessage(a01!)));
    expect(await ack).toMatchObject({ code: 'AA', controlId: a01!.controlId });
    socket.destroy();

    // answered to the GAP (ZRC) through the same journal, and the inbound message marked DONE
    const answer = await waitFor(() => gap.received[0], 'the answer at the GAP', 30000);
    const zrc = parseEr7(answer.text);
    expect(answer.type).toBe('ADT^Z80^ADT_A01');
    expect([zrc.get('ZRC-1'), zrc.get('ZRC-2')]).toEqual(['IDB', 'OK']);
    const end = Date.now() + 20000;
    for (;;) {
      const [row] = await listener.journal.browse({ limit: 10 });
      if (row?.state === 'DONE') break;
      if (Date.now() > end) throw new Error(`inbound message not DONE (${row?.state})`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // the GAP's ACK of the answer is settled after the GAP received it: wait for it, bounded
    const ackedBy = Date.now() + 20000;
    let states: string[] = [];
    for (;;) {
      const out = await listener.journal.browseOutbound({ limit: 10 });
      states = out.map((r: { state: string }) => r.state);
      if (states.length === 1 && states[0] !== 'SENT' && states[0] !== 'QUEUED') break;
      if (Date.now() > ackedBy) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(states).toEqual(['ACKED']);
  });
});
