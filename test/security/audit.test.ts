/**
 * The audit trail (lib/security/audit.ts): append-only JSON lines, mode 0600, known fields only,
 * never patient data; Node-RED's audit events (deploy, login) translated.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditTrail, audit, auditAction, configureAudit, entryFromNodeRed, nodeRedAuditHandler } from '../../lib/security/audit';

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-audit-'));
  file = path.join(dir, 'sub', 'roc-audit.log');
});
afterEach(() => {
  configureAudit(undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('audit trail file', () => {
  it('appends one JSON object per line to a 0600 file, keeping earlier lines', () => {
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, '{"ts":"2026-01-02T03:04:05.000Z","event":"release","user":"x","outcome":"ok"}\n', { mode: 0o644 });
    const t = new AuditTrail(file);
    t.write({ event: 'resend', user: 'c.durand', role: 'operator', outcome: 'ok', status: 200, target: { id: '42', node: 'a1b2' } });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({
      ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      event: 'resend',
      user: 'c.durand',
      role: 'operator',
      outcome: 'ok',
      status: 200,
      target: { id: '42', node: 'a1b2' },
    });
  });

  it('creates its directory private (0700)', () => {
    new AuditTrail(file).write({ event: 'deploy', user: 'admin', outcome: 'ok' });
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  });

  it('keeps identifiers only: unknown target fields dropped, NIRs masked, long values cut, control characters replaced', () => {
    const t = new AuditTrail(file);
    const e = t.write({
      event: 'release',
      user: 'lecteur\n{"forged":true}',
      outcome: 'denied',
      target: {
        venue: '2850430189042',
        id: '1850775123456 44',
        node: 'x'.repeat(500),
        nom: 'MARTIN',
        patient: { nir: '2850430189042', prenom: 'Camille' },
        flow: '185022A12345678',
      } as Record<string, unknown> as Record<string, string>,
    });
    const text = fs.readFileSync(file, 'utf8');
    expect(text.split('\n').filter(Boolean)).toHaveLength(1);
    for (const secret of ['2850430189042', '1850775123456', 'MARTIN', 'Camille', '2A12345']) expect(text).not.toContain(secret);
    expect(e.user).toBe('lecteur???forged?:true?');
    expect(Object.keys(e.target!).sort()).toEqual(['flow', 'id', 'node', 'venue']);
    expect(e.target!.node.length).toBeLessThanOrEqual(120);
  });
});

describe('auditAction (what nodes call)', () => {
  it('records who (req.user), from where, what and the outcome', () => {
    configureAudit(file);
    auditAction(
      { user: { username: 'operateur', role: 'operator' }, ip: '10.20.3.4' },
      'release',
      { venue: '250100421', node: 'n1' },
      'ok',
      200,
    );
    auditAction({ user: null, socket: { remoteAddress: '::1' } }, 'cancel', { id: 9 }, 'denied', 401);
    expect(new AuditTrail(file).read()).toEqual([
      {
        ts: expect.any(String),
        event: 'release',
        user: 'operateur',
        role: 'operator',
        outcome: 'ok',
        status: 200,
        ip: '10.20.3.4',
        target: { venue: '250100421', node: 'n1' },
      },
      { ts: expect.any(String), event: 'cancel', user: 'anonymous', outcome: 'denied', status: 401, ip: '::1', target: { id: '9' } },
    ]);
  });

  it('is a no-op without a configured trail, and never throws when the file cannot be written', () => {
    expect(() => audit({ event: 'release', user: 'x', outcome: 'ok' })).not.toThrow();
    const errors: string[] = [];
    fs.writeFileSync(path.join(dir, 'blocker'), '');
    configureAudit(path.join(dir, 'blocker', 'audit.log'), (e) => errors.push(e.message));
    expect(() => audit({ event: 'release', user: 'x', outcome: 'ok' })).not.toThrow();
    expect(errors).toHaveLength(1);
  });
});

describe('Node-RED audit events', () => {
  const admin = { username: 'admin', role: 'admin', permissions: '*' };

  it('keeps deployments, logins and refusals, with the user; drops reads', () => {
    expect(entryFromNodeRed({ event: 'flows.set', type: 'full', user: admin, path: '/flows', ip: '127.0.0.1' })).toEqual({
      event: 'deploy',
      user: 'admin',
      role: 'admin',
      outcome: 'ok',
      ip: '127.0.0.1',
      target: { path: '/flows', type: 'full' },
    });
    expect(
      entryFromNodeRed({
        event: 'auth.login',
        username: 'lecteur',
        client: 'node-red-editor',
        user: { username: 'lecteur', role: 'viewer' },
      }),
    ).toMatchObject({ event: 'login', user: 'lecteur', outcome: 'ok' });
    expect(entryFromNodeRed({ event: 'auth.login.fail.credentials', username: 'operateur', client: 'node-red-admin' })).toMatchObject({
      event: 'login',
      user: 'operateur',
      outcome: 'denied',
    });
    expect(
      entryFromNodeRed({
        event: 'permission.fail',
        permissions: 'flows.write',
        user: { username: 'lecteur', role: 'viewer' },
        path: '/flows',
      }),
    ).toMatchObject({
      event: 'permission',
      outcome: 'denied',
      target: { path: '/flows', reason: 'flows.write' },
    });
    for (const event of ['flows.get', 'nodes.list.get', 'comms.open', 'settings.get', 'context.get'])
      expect(entryFromNodeRed({ event, user: admin })).toBeUndefined();
  });

  it('writes them through the logging handler settings.js installs', () => {
    configureAudit(file);
    const h = nodeRedAuditHandler();
    h({ level: 98, event: 'flows.set', type: 'flows', user: admin });
    h({ level: 30, event: 'flows.set', type: 'flows', user: admin }); // not an audit message
    h({ level: 98, event: 'flows.get', user: admin });
    expect(new AuditTrail(file).read().map((e) => e.event)).toEqual(['deploy']);
  });
});
