/**
 * The editor side of the 0.1 → 1 migration, in the real Node-RED editor (Chromium) of the runtime
 * `npm start` starts (runs dist/: `npm run build` first). The shipped flow (0.1 settings) shows
 * its MLLP nodes valid; a 0.1 roc-mllp-in with its own journal file and TLS path fields, opened
 * and closed with Done, is saved as version 1 pointing at a new roc-journal node and a new
 * tls-config node holding those settings. Nothing is deployed.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { startRuntimeProcess, type StartedRuntime } from '../support/runtime';

jest.setTimeout(180000);

// Browser globals, as the page functions below see them (the test tsconfig has no DOM library).
declare const window: any;
declare const localStorage: { setItem(key: string, value: string): void };

let rt: StartedRuntime;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  rt = await startRuntimeProcess({ ROC_ANNUAIRE_URL: '', ROC_MLLP_PORT: '0', ROC_SIMULATOR_LATENCY: 'instant' }, 120000);
  browser = await launchChromium();
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1366, height: 900 } });
  page = await context.newPage();
  const token = await rt.token('admin');
  await page.goto(rt.url);
  await page.evaluate(
    (t) => localStorage.setItem('auth-tokens', JSON.stringify({ access_token: t, expires_in: 604800, token_type: 'Bearer' })),
    token,
  );
  await page.goto(rt.url);
  await page.waitForFunction(() => window.RED?.nodes?.node?.('gap-mllp'), undefined, { timeout: 60000 });
}, 180000);

afterAll(async () => {
  await browser?.close();
  if (rt) await rt.stop();
});

it('the shipped 0.1 flow: its MLLP nodes are valid in the editor as saved', async () => {
  const v = await page.evaluate(() => {
    const RED = window.RED;
    return ['gap-mllp', 'gap-answer'].map((id) => {
      const n = RED.nodes.node(id);
      RED.editor.validateNode(n);
      const errors: string[] = n.validationErrors ?? [];
      return {
        id,
        version: n.version,
        journal: n.journal,
        tls: n.tls,
        journalValid: !errors.includes('journal'),
        tlsValid: !errors.includes('tls'),
      };
    });
  });
  expect(v).toEqual([
    { id: 'gap-mllp', version: undefined, journal: '', tls: false, journalValid: true, tlsValid: true },
    { id: 'gap-answer', version: undefined, journal: undefined, tls: '', journalValid: true, tlsValid: true },
  ]);
});

it('a 0.1 roc-mllp-in with a journal file and TLS files, opened and saved: version 1, a roc-journal and a tls-config node', async () => {
  await page.evaluate(() => {
    const RED = window.RED;
    RED.view.importNodes([
      {
        id: 'legacy-in',
        type: 'roc-mllp-in',
        z: RED.workspaces.active(),
        x: 300,
        y: 600,
        name: 'GAP ancien',
        host: '0.0.0.0',
        port: '2599',
        journal: '/srv/roc/chu-nord.sqlite',
        synchronous: 'NORMAL',
        retentionDays: 90,
        tls: true,
        certFile: '/etc/roc/gap.crt',
        keyFile: '/etc/roc/gap.key',
        caFile: '/etc/roc/ca.crt',
        requestCert: true,
        wires: [[]],
      },
    ]);
  });
  const before = await page.evaluate(() => {
    const RED = window.RED;
    const n = RED.nodes.node('legacy-in') ?? RED.nodes.filterNodes({ type: 'roc-mllp-in' }).find((x: any) => x.name === 'GAP ancien');
    RED.editor.validateNode(n);
    const errors: string[] = n.validationErrors ?? [];
    return { id: n.id, journalValid: !errors.includes('journal'), tlsValid: !errors.includes('tls') };
  });
  expect(before).toMatchObject({ journalValid: true, tlsValid: true }); // a 0.1 node is not flagged before it is opened
  await page.evaluate((id) => window.RED.editor.edit(window.RED.nodes.node(id)), before.id);
  await page.waitForSelector('#node-input-journal', { state: 'attached' });
  await page.waitForSelector('#node-dialog-ok', { state: 'visible' });
  await page.click('#node-dialog-ok');
  await page.waitForFunction((id) => Number(window.RED.nodes.node(id).version) === 1, before.id);
  const after = await page.evaluate((id) => {
    const RED = window.RED;
    const n = RED.nodes.node(id);
    const j = RED.nodes.node(n.journal);
    const t = RED.nodes.node(n.tls);
    return {
      version: Number(n.version),
      usetls: n.usetls,
      journal: j && { type: j.type, file: j.file, synchronous: j.synchronous, retentionDays: Number(j.retentionDays) },
      tls: t && { type: t.type, cert: t.cert, key: t.key, ca: t.ca, verifyservercert: t.verifyservercert },
      valid: n.valid,
    };
  }, before.id);
  expect(after).toEqual({
    version: 1,
    usetls: true,
    journal: { type: 'roc-journal', file: '/srv/roc/chu-nord.sqlite', synchronous: 'NORMAL', retentionDays: 90 },
    tls: { type: 'tls-config', cert: '/etc/roc/gap.crt', key: '/etc/roc/gap.key', ca: '/etc/roc/ca.crt', verifyservercert: true },
    valid: true,
  });
});
