/**
 * roc-mllp-in TLS in the one style of the MLLP nodes: a core tls-config node (server side: its
 * certificate and key; "verify server certificate" = a client certificate signed by its CA is
 * required). The 0.1 path fields keep working at runtime when no tls-config node is set, and the
 * editor migration turns them into a tls-config node (roc-journal.html's rocBridgeMigrations,
 * run here against a small stand-in for the editor).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import vm from 'node:vm';
import helper from 'node-red-node-test-helper';
import mllpInNode from '../../nodes/roc-mllp-in/roc-mllp-in';
import journalNode from '../../nodes/roc-journal/roc-journal';
import { generateTestPki, type TestPki } from '../../lib/security/pki';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { readAck } from '../../simulator/gap';
import { journals } from '../../lib/store';
import { waitFor } from '../support/mllp-peer';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const tlsConfigNode = require('@node-red/nodes/core/network/05-tls.js');

helper.init(require.resolve('node-red'));

const FIXTURE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');

let dir: string;
let pki: TestPki;
beforeAll(() => {
  pki = generateTestPki();
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-mllp-tls-'));
  for (const [f, v] of [
    ['server.crt', pki.serverCert],
    ['server.key', pki.serverKey],
    ['ca.crt', pki.caCert],
  ])
    fs.writeFileSync(path.join(dir, f), v);
});
afterEach(async () => {
  await helper.unload();
  await journals.settled();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Connects over TLS, sends one admission; resolves with its ACK code or 'closed'. */
function exchange(port: number, withCert: boolean): Promise<string> {
  const socket = tls.connect({
    port,
    host: '127.0.0.1',
    ca: pki.caCert,
    servername: 'localhost',
    ...(withCert ? { cert: pki.clientCert, key: pki.clientKey } : {}),
  });
  const d = new MllpDeframer();
  return new Promise((resolve) => {
    socket.on('secureConnect', () => socket.write(frame(Buffer.from(FIXTURE, 'utf8'))));
    socket.on('data', (c) => {
      for (const e of d.push(c))
        if (e.kind === 'frame') {
          resolve(readAck(e.bytes)?.code ?? '?');
          socket.destroy();
        }
    });
    socket.on('close', () => resolve('closed'));
    socket.on('error', () => resolve('closed'));
  });
}

async function load(inNode: Record<string, unknown>, extra: Record<string, unknown>[] = []) {
  await helper.load(
    [mllpInNode, journalNode, tlsConfigNode],
    [
      { id: 't', type: 'tab', label: 'tls' },
      {
        id: 'in',
        type: 'roc-mllp-in',
        z: 't',
        host: '127.0.0.1',
        port: '0',
        journalFile: path.join(dir, 'journal.sqlite'),
        synchronous: 'NORMAL',
        wires: [[]],
        ...inNode,
      },
      ...extra,
    ],
  );
  return waitFor(() => helper.getNode('in').listener?.port, 'listener bound');
}

const tlsConf = (verify: boolean) => ({
  id: 'gap-tls',
  type: 'tls-config',
  name: 'GAP',
  cert: path.join(dir, 'server.crt'),
  key: path.join(dir, 'server.key'),
  ca: path.join(dir, 'ca.crt'),
  verifyservercert: verify,
});

describe('roc-mllp-in: TLS through a tls-config node', () => {
  it('with "verify" ticked: a GAP presenting a certificate from the CA is served, one without is refused', async () => {
    const port = await load({ version: 1, usetls: true, tls: 'gap-tls' }, [tlsConf(true)]);
    expect(await exchange(port, false)).toBe('closed');
    expect(await exchange(port, true)).toBe('AA');
  });

  it('without "verify": any GAP that trusts our certificate is served', async () => {
    const port = await load({ version: 1, usetls: true, tls: 'gap-tls' }, [tlsConf(false)]);
    expect(await exchange(port, false)).toBe('AA');
  });

  it('a 0.1 node (TLS checkbox and path fields, no version) still requires the client certificate', async () => {
    const port = await load({
      tls: true,
      certFile: path.join(dir, 'server.crt'),
      keyFile: path.join(dir, 'server.key'),
      caFile: path.join(dir, 'ca.crt'),
      requestCert: true,
      journal: path.join(dir, 'journal.sqlite'),
    });
    expect(await exchange(port, false)).toBe('closed');
    expect(await exchange(port, true)).toBe('AA');
  });
});

// ---------------------------------------------------------------- the editor side

/** The <script type="text/javascript"> blocks of a node's .html. */
function scripts(file: string): string[] {
  const html = fs.readFileSync(path.join(__dirname, '..', '..', 'nodes', file), 'utf8');
  return [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
}

/** Just enough of the editor (RED.nodes, jQuery inputs) for the migration helper. */
function editor(existing: Array<Record<string, unknown>> = []) {
  const values: Record<string, unknown> = {};
  const options: Record<string, string[]> = {};
  const added: Array<Record<string, unknown>> = [...existing];
  const types: Record<string, { defaults: Record<string, { value: unknown }> }> = {
    'roc-journal': {
      defaults: {
        name: { value: '' },
        file: { value: '' },
        synchronous: { value: 'FULL' },
        retentionDays: { value: 30 },
        commitWindowMs: { value: 0 },
        version: { value: 1 },
      },
    },
    'tls-config': {
      defaults: {
        name: { value: '' },
        cert: { value: '' },
        key: { value: '' },
        ca: { value: '' },
        verifyservercert: { value: true },
        servername: { value: '' },
      },
    },
  };
  let n = 0;
  const RED = {
    nodes: {
      getType: (t: string) => types[t],
      id: () => `new-${++n}`,
      add: (c: Record<string, unknown>) => added.push(c),
      dirty: () => undefined,
      eachConfig: (cb: (c: Record<string, unknown>) => void) => added.forEach(cb),
    },
    utils: { getNodeLabel: (c: Record<string, unknown>) => String(c.name || c.type) },
  };
  const $ = (sel: unknown) => {
    if (typeof sel !== 'string' || !sel.startsWith('#')) {
      // $('<option>')
      const opt = {
        v: '',
        val: (v: string) => ((opt.v = v), opt),
        text: () => opt,
        appendTo: (s: { key: string }) => ((options[s.key] ??= []).push(opt.v), opt),
      };
      return opt;
    }
    const key = sel.slice('#node-input-'.length);
    const el = {
      key,
      length: 1,
      val: (v?: unknown) => (v === undefined ? values[key] : ((values[key] = v), el)),
      prop: (_p: string, v: unknown) => ((values[key] = v), el),
      trigger: () => el,
      find: (q: string) => ({ length: (options[key] ?? []).some((o) => q.includes(`"${o}"`)) ? 1 : 0 }),
    };
    return el;
  };
  const window: Record<string, unknown> = {};
  const ctx = vm.createContext({ RED, $, window });
  for (const s of scripts('roc-journal/roc-journal.html').slice(0, 1)) vm.runInContext(s, ctx);
  return { values, added, migrations: window.rocBridgeMigrations as { mllpIn(n: object): void; mllpOut(n: object): void } };
}

describe('editor migration (oneditprepare)', () => {
  it('0.1 TLS path fields become a tls-config node (verify = require a client certificate); the node is saved as version 1', () => {
    const e = editor();
    e.migrations.mllpIn({
      id: 'gap-mllp',
      type: 'roc-mllp-in',
      name: 'GAP MLLP',
      journal: '',
      tls: true,
      certFile: '/etc/roc/gap.crt',
      keyFile: '/etc/roc/gap.key',
      caFile: '/etc/roc/ca.crt',
      requestCert: true,
    });
    const t = e.added.find((c) => c.type === 'tls-config')!;
    expect(t).toMatchObject({ cert: '/etc/roc/gap.crt', key: '/etc/roc/gap.key', ca: '/etc/roc/ca.crt', verifyservercert: true });
    expect(e.values).toMatchObject({ usetls: true, tls: t.id, journal: '_ADD_', version: 1 });
    expect(e.added.some((c) => c.type === 'roc-journal')).toBe(false); // default journal settings: the implicit journal, as before
  });

  it('a 0.1 journal file, durability and retention become one roc-journal node, reused by the roc-mllp-out naming the same settings', () => {
    const e = editor();
    e.migrations.mllpIn({
      id: 'in',
      type: 'roc-mllp-in',
      journal: '/srv/roc/chu.sqlite',
      synchronous: 'FULL',
      retentionDays: 30,
      tls: false,
    });
    const j = e.added.filter((c) => c.type === 'roc-journal');
    expect(j).toHaveLength(1);
    expect(j[0]).toMatchObject({ file: '/srv/roc/chu.sqlite', synchronous: 'FULL', retentionDays: 30 });
    expect(e.values).toMatchObject({ journal: j[0].id, usetls: false, tls: '_ADD_', version: 1 });
    e.migrations.mllpOut({ id: 'out', type: 'roc-mllp-out', dbPath: '/srv/roc/chu.sqlite', retentionDays: 30 });
    expect(e.added.filter((c) => c.type === 'roc-journal')).toHaveLength(1);
    expect(e.values).toMatchObject({ journal: j[0].id, dbPath: '', version: 1 });
  });

  it('a node already at version 1 is left alone', () => {
    const e = editor();
    e.migrations.mllpIn({ id: 'in', type: 'roc-mllp-in', version: 1, journal: 'j1', usetls: true, tls: 'gap-tls' });
    expect(e.values).toEqual({});
    expect(e.added).toEqual([]);
  });
});
