/**
 * GET /roc/journal/held and GET /roc/outbound/errors mask an IPP ordering key (PID-3:<IPP>) on the
 * server: a viewer sees its last 3 characters; `?unmask=1` shows it to an admin (audited) and is
 * refused to a viewer (403, audited). Venue keys (PV1-19) are shown as they are.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import mllpInNode from '../../nodes/roc-mllp-in/roc-mllp-in';
import mllpOutNode from '../../nodes/roc-mllp-out/roc-mllp-out';
import { stopOps } from '../../nodes/common/ops';
import { configureAudit } from '../../lib/security/audit';
import { ROLE_PERMISSIONS } from '../../lib/security/users';
import type { HeldKey, OutboundRecord } from '../../lib/store/journal';

helper.init(require.resolve('node-red'));
jest.setTimeout(20000);

// The caller's role, as Node-RED's adminAuth would set req.user (the helper has no login): a
// middleware put first on the helper's admin app (created by each load).
type Layer = unknown;
function withRoles(): void {
  const app = (helper as unknown as { _httpAdmin: { use(fn: unknown): void; _router: { stack: Layer[] } } })._httpAdmin;
  app.use((req: { headers: Record<string, string>; user?: unknown }, _res: unknown, next: () => void) => {
    const role = req.headers['x-test-role'] as keyof typeof ROLE_PERMISSIONS | undefined;
    if (role) req.user = { username: `${role}-test`, permissions: ROLE_PERMISSIONS[role] };
    next();
  });
  const stack = app._router.stack;
  stack.splice(2, 0, stack.pop());
}

const IPP = '8004123321';
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-mask-'));
  configureAudit(path.join(dir, 'audit.log'));
});
afterEach(async () => {
  await helper.unload();
  stopOps();
  configureAudit(undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});
const auditLines = () =>
  (fs.existsSync(path.join(dir, 'audit.log')) ? fs.readFileSync(path.join(dir, 'audit.log'), 'utf8') : '')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

it('GET /roc/journal/held: PID-3 key masked for a viewer; ?unmask=1 for an admin (audited), 403 for a viewer (audited)', async () => {
  await helper.load(mllpInNode, [
    { id: 'in', type: 'roc-mllp-in', host: '127.0.0.1', port: '0', journal: path.join(dir, 'journal.sqlite'), wires: [[]] },
  ]);
  withRoles();
  const node = helper.getNode('in');
  await new Promise<void>((r) => {
    const t = setInterval(() => node.listener?.port && (clearInterval(t), r()), 20);
  });
  const held: HeldKey[] = [
    { orderingKey: `PID-3:${IPP}`, failedId: 12, since: '2026-03-02T08:00:00.000Z', waiting: 2 },
    { orderingKey: 'PV1-19:250100421', failedId: 13, since: '2026-03-02T08:01:00.000Z', waiting: 0 },
  ];
  node.listener.heldKeys = async () => held;

  const viewer = (await helper.request().get('/roc/journal/held').set('x-test-role', 'viewer').expect(200)).body.held;
  expect(viewer.map((k: HeldKey) => k.orderingKey)).toEqual(['PID-3:•••••••321', 'PV1-19:250100421']);
  expect(JSON.stringify(viewer)).not.toContain(IPP);
  const admin = (await helper.request().get('/roc/journal/held').set('x-test-role', 'admin').expect(200)).body.held;
  expect(admin[0].orderingKey).toBe('PID-3:•••••••321'); // masked unless asked
  const unmasked = (await helper.request().get('/roc/journal/held?unmask=1').set('x-test-role', 'admin').expect(200)).body.held;
  expect(unmasked[0].orderingKey).toBe(`PID-3:${IPP}`);
  const refused = await helper.request().get('/roc/journal/held?unmask=1').set('x-test-role', 'viewer').expect(403);
  expect(JSON.stringify(refused.body)).not.toContain(IPP);
  expect(auditLines().map((a) => [a.event, a.user, a.outcome])).toEqual([
    ['unmask', 'admin-test', 'ok'],
    ['unmask', 'viewer-test', 'denied'],
  ]);
});

it('GET /roc/outbound/errors: PID-3 key masked for a viewer; ?unmask=1 for an admin (audited), 403 for a viewer (audited)', async () => {
  await helper.load(mllpOutNode, [
    {
      id: 'out',
      type: 'roc-mllp-out',
      name: 'GAP',
      host: '127.0.0.1',
      port: '9',
      charset: 'utf8',
      dbPath: path.join(dir, 'journal.sqlite'),
      wires: [[]],
    },
  ]);
  withRoles();
  const node = helper.getNode('out');
  const row = {
    id: 7,
    destination: '127.0.0.1:9',
    orderingKey: `PID-3:${IPP}`,
    attempts: 3,
    lastError: 'ACK AE (ERR 207)',
    createdAt: '2026-03-02T08:00:00.000Z',
    updatedAt: '2026-03-02T08:03:00.000Z',
  } as unknown as OutboundRecord;
  node.sender.errors = async () => [row];

  const viewer = (await helper.request().get('/roc/outbound/errors').set('x-test-role', 'viewer').expect(200)).body;
  expect(viewer).toEqual([expect.objectContaining({ id: 7, orderingKey: 'PID-3:•••••••321' })]);
  expect(JSON.stringify(viewer)).not.toContain(IPP);
  const unmasked = (await helper.request().get('/roc/outbound/errors?unmask=1').set('x-test-role', 'admin').expect(200)).body;
  expect(unmasked[0].orderingKey).toBe(`PID-3:${IPP}`);
  await helper.request().get('/roc/outbound/errors?unmask=1').set('x-test-role', 'operator').expect(403);
  expect(auditLines().map((a) => [a.event, a.user, a.outcome])).toEqual([
    ['unmask', 'admin-test', 'ok'],
    ['unmask', 'operator-test', 'denied'],
  ]);
});
