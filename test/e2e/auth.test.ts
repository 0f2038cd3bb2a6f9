/**
 * End to end, issue 7 finding 2 ("the editor and the admin API are open to anyone who reaches
 * the port"), replayed against the runtime `npm start` runs:
 * - anonymous POST /flow, GET /flows, GET /credentials/…, the /comms websocket and the ROC
 *   operations endpoints are refused;
 * - a viewer reads but cannot release, resend or cancel (403, and the attempt is audited); an
 *   operator can; an admin deploys; the audit trail holds who/when/what and no patient data;
 * - the first start creates an admin, prints its password once and stores only its hash;
 * - the runtime refuses to listen beyond loopback without users;
 * - HTTPS from certificate files; the desk/API access rule (addresses, bearer tokens).
 */
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { ensureDevCerts } from '../../simulator/make-certs';
import { login, postJson, startRuntimeProcess, TEST_USERS, type StartedRuntime } from '../support/runtime';
import { beneficiaires, dossierFor } from '../support/dossiers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const WebSocket = require('@node-red/editor-api/node_modules/ws') as typeof import('ws');

jest.setTimeout(120000);

interface AuditLine {
  ts: string;
  event: string;
  user: string;
  role?: string;
  outcome: string;
  status?: number;
  target?: Record<string, string>;
}
const auditOf = (rt: StartedRuntime): AuditLine[] =>
  fs
    .readFileSync(path.join(rt.userDir, 'roc-audit.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditLine);

async function until(what: string, check: () => boolean, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Opens /comms, sends `first`, resolves with what the server sends back and whether it closed. */
function comms(url: string, first: unknown): Promise<{ messages: unknown[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + 'comms');
    const messages: unknown[] = [];
    let closed = false;
    const done = () => {
      clearTimeout(timer);
      if (!closed) ws.terminate();
      resolve({ messages, closed });
    };
    const timer = setTimeout(done, 3000);
    ws.on('open', () => ws.send(JSON.stringify(first)));
    ws.on('message', (d: Buffer) => {
      messages.push(JSON.parse(d.toString()));
      if ((messages.at(-1) as { auth?: string }).auth === 'ok') done();
    });
    ws.on('close', () => {
      closed = true;
      done();
    });
    ws.on('error', reject);
  });
}

describe('the runtime with users (admin, operator, viewer)', () => {
  let rt: StartedRuntime;
  let flowDir: string;
  beforeAll(async () => {
    // the admin deploys in this suite: on a copy of the shipped flow, never the repository's file
    flowDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-auth-flow-'));
    const flowFile = path.join(flowDir, 'roc-bridge.json');
    fs.copyFileSync(path.resolve(__dirname, '..', '..', 'flows', 'roc-bridge.json'), flowFile);
    rt = await startRuntimeProcess(
      { ROC_MLLP_PORT: '0', ROC_ANNUAIRE_URL: '', ROC_SIMULATOR_LATENCY: 'instant', ROC_FLOW_FILE: flowFile },
      60000,
    );
  }, 90000);
  afterAll(async () => {
    if (rt) await rt.stop();
    fs.rmSync(flowDir, { recursive: true, force: true });
  });

  it('refuses anonymous access to the admin API, the credentials and the operations endpoints (401)', async () => {
    const exec = [{ id: 'e1', type: 'exec', z: 'f1', command: 'id', wires: [[], [], []] }];
    const attempts: [string, string, unknown?][] = [
      ['POST', 'flow', { label: 'intrus', nodes: exec }],
      ['POST', 'flows', exec],
      ['GET', 'flows'],
      ['GET', 'nodes'],
      ['GET', 'credentials/roc-establishment/etab'],
      ['GET', 'context/global'],
      ['GET', 'roc/journal/held'],
      ['POST', 'roc/journal/release/250100421'],
      ['GET', 'roc/outbound/errors'],
      ['POST', 'roc/outbound/resend/1'],
      ['POST', 'roc/outbound/cancel/1'],
    ];
    for (const [method, p, body] of attempts) {
      const res = await fetch(`${rt.url}${p}`, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      expect(`${method} /${p}: ${res.status}`).toBe(`${method} /${p}: 401`);
    }
    // a made-up bearer token is no better
    const forged = await fetch(`${rt.url}flows`, { headers: { authorization: 'Bearer ' + 'A'.repeat(172) } });
    expect(forged.status).toBe(401);
    // the editor page itself loads, and asks for a login
    expect((await fetch(rt.url)).status).toBe(200);
    const loginInfo = (await (await fetch(`${rt.url}auth/login`)).json()) as { type: string };
    expect(loginInfo.type).toBe('credentials');
  });

  it('refuses the /comms websocket (debug output, statuses) without a valid token', async () => {
    const anon = await comms(rt.url, { subscribe: 'debug' });
    expect(anon.messages).toEqual([{ auth: 'fail' }]);
    expect(anon.closed).toBe(true);
    const forged = await comms(rt.url, { auth: 'pas-un-jeton' });
    expect(forged.messages).toEqual([{ auth: 'fail' }]);
    expect(forged.closed).toBe(true);
    const viewer = await comms(rt.url, { auth: await rt.token('viewer') });
    expect(viewer.messages).toEqual([{ auth: 'ok' }]);
  });

  it('signs users in with Node-RED’s token login, and refuses a wrong password', async () => {
    const bad = await login(rt.url, 'operateur', 'mauvais-mot-de-passe');
    expect(bad.token).toBeUndefined();
    expect(bad.status).toBeGreaterThanOrEqual(400);
    const unknown = await login(rt.url, 'inconnu', 'mauvais-mot-de-passe');
    expect(unknown.token).toBeUndefined();
    const ok = await login(rt.url, TEST_USERS.operator.username, TEST_USERS.operator.password);
    expect(ok.status).toBe(200);
    expect(ok.token).toBeTruthy();
    await until('login audited', () => auditOf(rt).some((e) => e.event === 'login' && e.outcome === 'denied' && e.user === 'operateur'));
    expect(auditOf(rt).some((e) => e.event === 'login' && e.outcome === 'ok' && e.user === 'operateur')).toBe(true);
  });

  it('lets a viewer read but not release, resend or cancel (403), and audits the attempts', async () => {
    const h = await rt.headers('viewer');
    expect((await fetch(`${rt.url}roc/journal/held`, { headers: h })).status).toBe(200);
    expect((await fetch(`${rt.url}roc/outbound/errors`, { headers: h })).status).toBe(200);
    expect((await fetch(`${rt.url}flows`, { headers: h })).status).toBe(200);
    // not the credentials, not a deploy
    expect((await fetch(`${rt.url}credentials/roc-establishment/etab`, { headers: h })).status).toBe(401);
    expect(
      (await fetch(`${rt.url}flows`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: '[]' })).status,
    ).toBe(401);

    const release = await fetch(`${rt.url}roc/journal/release/250100421?mode=skip`, { method: 'POST', headers: h });
    expect(release.status).toBe(403);
    expect(((await release.json()) as { reason: string }).reason).toMatch(/operator/);
    expect((await fetch(`${rt.url}roc/outbound/resend/7`, { method: 'POST', headers: h })).status).toBe(403);
    expect((await fetch(`${rt.url}roc/outbound/cancel/8`, { method: 'POST', headers: h })).status).toBe(403);

    const deniedActs = () => auditOf(rt).filter((e) => e.user === 'lecteur' && e.outcome === 'denied' && e.status === 403);
    await until('denials audited', () => deniedActs().length >= 3);
    const denied = deniedActs();
    expect(denied.map((e) => [e.event, e.role, e.target])).toEqual([
      ['release', 'viewer', { venue: '250100421', mode: 'skip' }],
      ['resend', 'viewer', { id: '7' }],
      ['cancel', 'viewer', { id: '8' }],
    ]);
    for (const e of denied) expect(Date.now() - Date.parse(e.ts)).toBeLessThan(60000);
  });

  it('lets an operator act (the request reaches the journal) but not deploy', async () => {
    const h = await rt.headers('operator');
    const release = await fetch(`${rt.url}roc/journal/release/250100999`, { method: 'POST', headers: h });
    expect(release.status).toBe(404); // no such held venue: answered by the journal, not refused
    expect(((await release.json()) as { error: string }).error).toMatch(/aucune venue en attente/);
    const resend = await fetch(`${rt.url}roc/outbound/resend/424242`, { method: 'POST', headers: h });
    expect(resend.status).toBe(404);
    expect((await fetch(`${rt.url}roc/outbound/cancel/424242`, { method: 'POST', headers: h })).status).toBe(404);
    expect(
      (await fetch(`${rt.url}flows`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: '[]' })).status,
    ).toBe(401);
    await until(
      'operator actions audited',
      () => auditOf(rt).filter((e) => e.user === 'operateur' && ['release', 'resend', 'cancel'].includes(e.event)).length >= 3,
    );
    const acts = auditOf(rt).filter((e) => e.user === 'operateur' && ['release', 'resend', 'cancel'].includes(e.event));
    expect(acts.map((e) => [e.event, e.role, e.outcome, e.status, e.target])).toEqual([
      ['release', 'operator', 'failed', 404, { venue: '250100999', mode: 'retry' }],
      ['resend', 'operator', 'failed', 404, { id: '424242' }],
      ['cancel', 'operator', 'failed', 404, { id: '424242' }],
    ]);
  });

  it('lets an admin read the credentials and deploy, and audits the deployment', async () => {
    const h = await rt.headers('admin', { 'Node-RED-API-Version': 'v2' });
    const current = (await (await fetch(`${rt.url}flows`, { headers: h })).json()) as { rev: string; flows: unknown[] };
    expect(current.flows.length).toBeGreaterThan(5);
    // the credentials of a node: the admin only
    const etab = (current.flows as { id: string; type: string }[]).find((n) => n.type === 'roc-establishment');
    expect(etab).toBeDefined();
    expect((await fetch(`${rt.url}credentials/roc-establishment/${etab!.id}`, { headers: h })).status).toBe(200);
    expect((await fetch(`${rt.url}credentials/roc-establishment/${etab!.id}`, { headers: await rt.headers('operator') })).status).toBe(401);
    expect((await fetch(`${rt.url}credentials/roc-establishment/${etab!.id}`)).status).toBe(401);
    const res = await fetch(`${rt.url}flows`, {
      method: 'POST',
      headers: { ...h, 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'flows' },
      body: JSON.stringify(current),
    });
    expect(res.status).toBe(200);
    await until('deploy audited', () => auditOf(rt).some((e) => e.event === 'deploy'));
    const deploy = auditOf(rt).find((e) => e.event === 'deploy')!;
    expect([deploy.user, deploy.role, deploy.outcome, deploy.target?.type]).toEqual(['admin', 'admin', 'ok', 'flows']);
  });

  it('keeps the audit trail private (0600) and free of patient data', async () => {
    // patients go through the bridge while the trail is written
    for (const b of beneficiaires.slice(0, 3)) expect((await postJson(`${rt.url}roc/dossier`, dossierFor(b.id))).status).toBe(200);
    await fetch(`${rt.url}roc/journal/release/${beneficiaires[0].nir}`, { method: 'POST', headers: await rt.headers('viewer') });
    const file = path.join(rt.userDir, 'roc-audit.log');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(file, 'utf8');
    for (const b of beneficiaires) {
      expect(text).not.toContain(b.nir);
      expect(text).not.toContain(b.nom);
      expect(text).not.toContain(b.prenom);
    }
    for (const u of Object.values(TEST_USERS)) expect(text).not.toContain(u.password);
    // the users file: hashes only, private
    const usersFile = path.join(rt.userDir, 'roc-users.json');
    expect(fs.statSync(usersFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(usersFile, 'utf8')).not.toContain(TEST_USERS.admin.password);
  });
});

describe('first start', () => {
  it('creates an admin, prints its password once and stores only its hash', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-first-start-'));
    const env = { ROC_USER_DIR: dir, ROC_DEV_CERT_DIR: path.join(dir, 'certs'), ROC_ADMIN_PASSWORD: '', ROC_USERS: '', ROC_MLLP_PORT: '0' };
    try {
      const first = await startRuntimeProcess(env, 60000);
      const m = /password: (\S+)/.exec(first.output());
      await first.stop();
      expect(m).not.toBeNull();
      const password = m![1];
      expect(password.length).toBeGreaterThanOrEqual(20);
      expect(first.output().split(password).length - 1).toBe(1);

      const file = path.join(dir, 'roc-users.json');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const text = fs.readFileSync(file, 'utf8');
      expect(text).not.toContain(password);
      const { users } = JSON.parse(text) as { users: { username: string; role: string; password: string }[] };
      expect(users.map((u) => [u.username, u.role])).toEqual([['admin', 'admin']]);
      expect(await bcrypt.compare(password, users[0].password)).toBe(true);

      // the second start: the same admin, nothing printed, the printed password signs in
      const second = await startRuntimeProcess(env, 60000);
      try {
        expect(second.output()).not.toContain(password);
        expect(second.output()).not.toMatch(/password:/);
        expect((await login(second.url, 'admin', password)).status).toBe(200);
        expect((await login(second.url, 'admin', 'pas-le-bon-mot-de-passe')).status).not.toBe(200);
      } finally {
        await second.stop();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to listen beyond loopback without users, with a clear message, and creates none', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-bind-'));
    try {
      const err = await startRuntimeProcess({ ROC_HOST: '0.0.0.0', ROC_USER_DIR: dir, ROC_ADMIN_PASSWORD: '', ROC_USERS: '' }, 60000).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toBeDefined();
      expect(err!.message).toMatch(/exited with 1/);
      expect(err!.message).toMatch(/refusing to listen on 0\.0\.0\.0 .*without users/);
      expect(fs.existsSync(path.join(dir, 'roc-users.json'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an MLLP intake beyond loopback without users, even with the editor on loopback', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-bind-'));
    try {
      const err = await startRuntimeProcess(
        { ROC_HOST: '127.0.0.1', ROC_MLLP_HOST: '0.0.0.0', ROC_USER_DIR: dir, ROC_ADMIN_PASSWORD: '', ROC_USERS: '' },
        60000,
      ).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toBeDefined();
      expect(err!.message).toMatch(/refusing to listen on 0\.0\.0\.0 .*without users/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HTTPS and the access rule of the flows’ endpoints', () => {
  const TOKEN = 'jeton-gap-e2e-0123456789abcdef';
  let rt: StartedRuntime;
  let ca: string;
  let certDir: string;

  function get(p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.get(`${rt.url}${p}`, { ca, headers }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
    });
  }

  beforeAll(async () => {
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-https-'));
    const certs = await ensureDevCerts(certDir);
    ca = certs.caCertPem;
    rt = await startRuntimeProcess(
      {
        ROC_MLLP_PORT: '0',
        ROC_HTTPS_CERT: certs.serverCert,
        ROC_HTTPS_KEY: certs.serverKey,
        // clerks' workstations on 10.99.0.0/16 only: this test (from 127.0.0.1) is outside
        ROC_HTTP_ALLOW: '10.99.0.0/16',
        ROC_API_TOKENS: TOKEN,
      },
      60000,
    );
  }, 90000);
  afterAll(async () => {
    if (rt) await rt.stop();
    fs.rmSync(certDir, { recursive: true, force: true });
  });

  it('serves the editor over HTTPS with the given certificate', async () => {
    expect(rt.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await get('')).status).toBe(200);
    expect((await get('flows')).status).toBe(401);
  });

  it('refuses the desk and the API outside ROC_HTTP_ALLOW, and accepts a bearer token of ROC_API_TOKENS', async () => {
    const refused = await get('desk');
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).reason).toMatch(/ROC_HTTP_ALLOW/);
    const wrong = await get('desk', { authorization: 'Bearer jeton-faux-0123456789abcdefgh' });
    expect(wrong.status).toBe(401);
    const ok = await get('desk', { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatch(/<html/i);
    expect(rt.output()).toMatch(/HTTP access refused: address not allowed, from \S+ to \/desk/);
  });
});
