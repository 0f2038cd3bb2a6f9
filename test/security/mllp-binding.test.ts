/**
 * Issue 7, finding 2: "a roc-mllp-in with an empty host listens on 0.0.0.0". With no host
 * configured, the GAP listener binds this machine only (127.0.0.1); a host given explicitly
 * (e.g. the server's address, or 0.0.0.0) is still honoured.
 */
import { startListener } from '../gap/hostile-peers';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import mllpInNode from '../../nodes/roc-mllp-in/roc-mllp-in';
import { useLanguage } from '../support/i18n';

helper.init(require.resolve('node-red'));
// Status and log texts in French, as the assertions below read them (Node-RED's runtime language).
useLanguage(helper, 'fr');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-mllp-bind-'));
});
afterEach(async () => {
  await helper.unload();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function boundAddress(host: string | undefined): Promise<string> {
  const node = {
    id: 'in',
    type: 'roc-mllp-in',
    z: 't',
    port: '0',
    journal: path.join(dir, 'journal.sqlite'),
    synchronous: 'NORMAL',
    wires: [[]],
  } as Record<string, unknown>;
  if (host !== undefined) node.host = host;
  await helper.load([mllpInNode], [{ id: 't', type: 'tab', label: 'mllp' }, node]);
  const live = helper.getNode('in') as unknown as { listener?: { server?: { address(): { address: string; port: number } | null } } };
  const until = Date.now() + 20000;
  for (;;) {
    const a = live.listener?.server?.address();
    if (a && a.port) return a.address;
    if (Date.now() > until) throw new Error('listener not bound');
    await new Promise((r) => setTimeout(r, 10));
  }
}

it.each([[undefined], ['']])('binds 127.0.0.1 when the host is %p', async (host) => {
  expect(await boundAddress(host)).toBe('127.0.0.1');
});

it('binds the host configured', async () => {
  expect(await boundAddress('127.0.0.2')).toBe('127.0.0.2');
});

it.each([[undefined], ['']])('the lib listener alone binds 127.0.0.1 when the host is %p', async (host) => {
  const t = await startListener({ host });
  try {
    expect((t.listener as unknown as { server: { address(): { address: string } } }).server.address().address).toBe('127.0.0.1');
  } finally {
    await t.close();
  }
});
