/**
 * The shipped flow in the Node-RED editor, as an integrator opens it: the runtime started as
 * `npm start` starts it (on a temporary copy of flows/roc-bridge.json — a deploy from this test
 * never touches the repository's file), the editor opened in headless Chromium, signed in as the
 * admin. Every node of every tab must be valid (no red triangle: fields holding `${ENV_VAR}` are
 * accepted as such), a Deploy must go without the "not properly configured" warning, and each tab
 * must read left to right: no two nodes overlap and no wire runs back across the tab (the loops
 * back into the MLLP listener are link nodes). A screenshot of each tab is left under /tmp.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { startRuntimeProcess, TEST_USERS, type StartedRuntime } from '../support/runtime';
import { GapAnswerListener } from '../../simulator/gap';

jest.setTimeout(180000);

const SHIPPED = path.resolve(__dirname, '..', '..', 'flows', 'roc-bridge.json');
const SHOTS = '/tmp/roc-editor';

let dir: string;
let rt: StartedRuntime | undefined;
let gap: GapAnswerListener | undefined;
let browser: Browser | undefined;
let page: Page;
let shippedBefore: string;

interface Tab {
  id: string;
  label: string;
}

beforeAll(async () => {
  shippedBefore = fs.readFileSync(SHIPPED, 'utf8');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-editor-'));
  const flowFile = path.join(dir, 'roc-bridge.json');
  fs.copyFileSync(SHIPPED, flowFile);
  gap = new GapAnswerListener();
  const { port: answerPort } = await gap.start();
  rt = await startRuntimeProcess(
    {
      ROC_FLOW_FILE: flowFile,
      ROC_MLLP_PORT: '0',
      ROC_GAP_ANSWER_PORT: String(answerPort),
      ROC_ANNUAIRE_URL: '',
      ROC_SIMULATOR_LATENCY: 'instant',
    },
    120000,
  );
  browser = await launchChromium();
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1680, height: 1000 } });
  page = await context.newPage();
  await page.goto(rt.url);
  // Node-RED's own login dialog (adminAuth): the admin of this runtime
  await page.waitForSelector('#node-dialog-login-username', { timeout: 60000 });
  await page.fill('#node-dialog-login-username', TEST_USERS.admin.username);
  await page.fill('#node-dialog-login-password', TEST_USERS.admin.password);
  await page.click('#node-dialog-login-submit');
  await page.waitForFunction(
    () => {
      const RED = (globalThis as any).RED;
      return (
        !!RED?.nodes?.getWorkspaceOrder &&
        RED.nodes.getWorkspaceOrder().length >= 3 &&
        (globalThis as any).document.querySelectorAll('.red-ui-flow-node').length > 0
      );
    },
    undefined,
    { timeout: 60000 },
  );
  // a clean canvas for the screenshots: no palette, no sidebar
  await page.evaluate(() => {
    const RED = (globalThis as any).RED;
    RED.menu.setSelected('menu-item-palette', false);
    RED.menu.setSelected('menu-item-sidebar', false);
  });
  fs.mkdirSync(SHOTS, { recursive: true });
}, 180000);

afterAll(async () => {
  await browser?.close();
  if (rt) await rt.stop();
  if (gap) await gap.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function tabs(): Promise<Tab[]> {
  return page.evaluate(() => {
    const RED = (globalThis as any).RED;
    return RED.nodes.getWorkspaceOrder().map((id: string) => ({ id, label: RED.nodes.workspace(id).label as string }));
  });
}

it('no node on any tab is flagged invalid (environment variables accepted as such)', async () => {
  const invalid = await page.evaluate(() => {
    const RED = (globalThis as any).RED;
    const bad: string[] = [];
    const check = (n: any) => {
      RED.editor.validateNode(n);
      if (n.valid === false) {
        const errors = Array.isArray(n.validationErrors) ? n.validationErrors.join(', ') : '';
        bad.push(`${n.type} ${n.id} "${n.name ?? ''}" (${errors})`);
      }
    };
    RED.nodes.eachNode(check);
    RED.nodes.eachConfig(check);
    return bad;
  });
  expect(invalid).toEqual([]);
  // the GAP listener's port is an environment variable, shown whole in its edit dialog
  const port = await page.evaluate(() => {
    const RED = (globalThis as any).RED;
    let p: string | undefined;
    RED.nodes.eachNode((n: any) => {
      if (n.type === 'roc-mllp-in') p = n.port;
    });
    return p;
  });
  expect(port).toBe('${ROC_MLLP_PORT}');
});

it('every validated field of every ROC node accepts ${ENV_VAR}, and still refuses nonsense in number fields', async () => {
  const { refused, accepted } = await page.evaluate(() => {
    const RED = (globalThis as any).RED;
    const refusedEnv: string[] = [];
    const acceptedJunk: string[] = [];
    for (const type of RED.nodes.registry.getNodeTypes() as string[]) {
      if (!type.startsWith('roc-')) continue;
      const defaults = RED.nodes.getType(type).defaults as Record<
        string,
        { value: unknown; type?: string; validate?: (v: unknown, opt?: unknown) => unknown }
      >;
      for (const [prop, d] of Object.entries(defaults)) {
        // a reference to a config node (roc-journal, tls-config) is chosen, never typed
        if (typeof d.validate !== 'function' || d.type) continue;
        if (d.validate.call({}, '${ROC_SOME_SETTING}') !== true) refusedEnv.push(`${type}.${prop}`);
        if (typeof d.value === 'number' && d.validate.call({}, 'douze') === true) acceptedJunk.push(`${type}.${prop}`);
      }
    }
    return { refused: refusedEnv, accepted: acceptedJunk };
  });
  expect(refused).toEqual([]);
  expect(accepted).toEqual([]);
});

it('the port fields are wide enough to read ${ROC_MLLP_PORT} and ${ROC_GAP_ANSWER_PORT} (edit dialogs under /tmp/roc-editor)', async () => {
  for (const type of ['roc-mllp-in', 'roc-mllp-out']) {
    await page.evaluate((t) => {
      const RED = (globalThis as any).RED;
      let node: any;
      RED.nodes.eachNode((n: any) => {
        if (n.type === t) node = n;
      });
      RED.workspaces.show(node.z);
      RED.editor.edit(node);
    }, type);
    const input = page.locator('#node-input-port');
    await input.waitFor({ state: 'visible' });
    await page.waitForTimeout(500); // the tray slides in
    await page.screenshot({ path: path.join(SHOTS, `edit-${type}.png`) });
    const width = (el: any) => ({ field: el.clientWidth as number, text: el.scrollWidth as number, value: el.value as string });
    const port = await input.evaluate(width);
    expect(port.value).toMatch(/^\$\{ROC_\w+_PORT\}$/);
    expect(port.text).toBeLessThanOrEqual(port.field);
    await page.evaluate(() => (globalThis as any).RED.tray.close());
    await input.waitFor({ state: 'detached' });
  }
});

it('each tab reads left to right: no overlapping nodes, no wire running back across the tab (screenshots under /tmp/roc-editor)', async () => {
  const all = await tabs();
  expect(all.map((t) => t.label)).toEqual(expect.arrayContaining(['ROC Bridge', 'GAP HL7 (MLLP)']));
  const problems: string[] = [];
  for (const [i, tab] of all.entries()) {
    await page.evaluate((id) => (globalThis as any).RED.workspaces.show(id), tab.id);
    await page.waitForTimeout(500);
    const file = path.join(SHOTS, `tab-${i + 1}-${tab.id}.png`);
    await page.screenshot({ path: file });
    const layout = await page.evaluate((z) => {
      const RED = (globalThis as any).RED;
      const nodes: Array<{ id: string; type: string; x: number; y: number; w: number; h: number }> = [];
      RED.nodes.eachNode((n: any) => {
        if (n.z === z) nodes.push({ id: n.id, type: n.type, x: n.x, y: n.y, w: n.w ?? 100, h: n.h ?? 30 });
      });
      const links: Array<{ from: string; to: string }> = [];
      RED.nodes.eachLink((l: any) => {
        if (l.source.z === z) links.push({ from: l.source.id, to: l.target.id });
      });
      return { nodes, links };
    }, tab.id);
    const byId = new Map(layout.nodes.map((n) => [n.id, n]));
    for (const [k, a] of layout.nodes.entries()) {
      for (const b of layout.nodes.slice(k + 1)) {
        const overlap = Math.abs(a.x - b.x) * 2 < a.w + b.w && Math.abs(a.y - b.y) * 2 < a.h + b.h;
        if (overlap) problems.push(`[${tab.label}] ${a.id} overlaps ${b.id}`);
      }
    }
    for (const l of layout.links) {
      const a = byId.get(l.from)!;
      const b = byId.get(l.to)!;
      // a wire leaves from the right edge and enters on the left edge: going back means a loop drawn across the tab
      if (b.x - b.w / 2 < a.x + a.w / 2 - 1) problems.push(`[${tab.label}] wire ${a.id} → ${b.id} runs right to left`);
    }
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
  }
  expect(problems).toEqual([]);
});

it('Deploy goes without the "not properly configured" warning, onto the copy only', async () => {
  await page.evaluate(() => (globalThis as any).RED.nodes.dirty(true));
  await page.waitForSelector('#red-ui-header-button-deploy:not(.disabled)');
  await page.click('#red-ui-header-button-deploy');
  // either the success notification or the warning comes; wait for whichever
  const note = await page.waitForSelector('.red-ui-notification', { timeout: 30000 });
  const text = (await note.textContent()) ?? '';
  expect(text).not.toMatch(/not properly configured/i);
  expect(text).not.toMatch(/unknown/i);
  expect(text).toMatch(/deployed/i);
  // the repository's flow is untouched
  expect(fs.readFileSync(SHIPPED, 'utf8')).toBe(shippedBefore);
});
