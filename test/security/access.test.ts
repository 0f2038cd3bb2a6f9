/**
 * Access rules (lib/security/access.ts): the flows' HTTP endpoints (address allowlist, bearer
 * tokens), the guards of the ROC operations endpoints (viewer / operator, audited), the
 * binding check.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import {
  AccessConfigError,
  checkBinding,
  hasPermission,
  httpAccess,
  ipAllowed,
  isLoopbackHost,
  operationsAct,
  parseAllowList,
} from '../../lib/security/access';
import { configureAudit } from '../../lib/security/audit';
import { ROLE_PERMISSIONS } from '../../lib/security/users';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeRedPermissions = require('@node-red/editor-api/lib/auth/permissions') as { hasPermission(s: unknown, p: string): boolean };

interface FakeRes {
  statusCode: number;
  headers: Record<string, string>;
  body?: string;
  finish: (() => void)[];
  setHeader(n: string, v: string): void;
  end(b?: string): void;
  on(e: 'finish', cb: () => void): void;
}
function fakeRes(): FakeRes {
  return {
    statusCode: 200,
    headers: {},
    finish: [],
    setHeader(n, v) {
      this.headers[n.toLowerCase()] = v;
    },
    end(b) {
      this.body = b;
      this.finish.forEach((f) => f());
    },
    on(_e, cb) {
      this.finish.push(cb);
    },
  };
}
function run(mw: (req: any, res: any, next: () => void) => void, req: Record<string, unknown>): { passed: boolean; res: FakeRes } {
  const res = fakeRes();
  let passed = false;
  mw({ headers: {}, ...req }, res, () => (passed = true));
  return { passed, res };
}

describe('address allowlist', () => {
  it.each([
    ['127.0.0.1', '127.0.0.0/8, ::1', true],
    ['127.4.5.6', '127.0.0.0/8', true],
    ['::1', '127.0.0.0/8, ::1', true],
    ['::ffff:127.0.0.1', '127.0.0.0/8', true],
    ['10.20.3.4', '127.0.0.0/8, ::1', false],
    ['10.20.3.4', '10.20.0.0/16', true],
    ['10.21.3.4', '10.20.0.0/16', false],
    ['192.168.1.77', '192.168.1.64/27', true],
    ['192.168.1.96', '192.168.1.64/27', false],
    ['192.168.1.10', '192.168.1.10', true],
    ['fd00:abcd::12', 'fd00:abcd::/32', true],
    ['fd00:abce::12', 'fd00:abcd::/32', false],
    ['fe80::1%eth0', 'fe80::/10', true],
    ['10.0.0.1', '0.0.0.0/0', true],
    ['10.0.0.1', '::/0', false],
    ['', '0.0.0.0/0', false],
    ['not-an-ip', '0.0.0.0/0', false],
  ])('%s within "%s": %s', (ip, allow, expected) => {
    expect(ipAllowed(ip, parseAllowList(allow))).toBe(expected);
  });

  it('agrees with a reference on every IPv4 address and prefix (fixed seed)', () => {
    const toInt = (a: number[]) => ((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) >>> 0;
    const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
    fc.assert(
      fc.property(octets, octets, fc.integer({ min: 0, max: 32 }), (ip, net, bits) => {
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        const expected = (toInt(ip) & mask) >>> 0 === (toInt(net) & mask) >>> 0;
        return ipAllowed(ip.join('.'), parseAllowList(`${net.join('.')}/${bits}`)) === expected;
      }),
      { seed: 20260701, numRuns: 2000 },
    );
  });

  it('refuses a malformed entry, naming it', () => {
    expect(() => parseAllowList('10.20.0.0/16, hopital.local')).toThrow(/"hopital.local" is not an IP address/);
    expect(() => parseAllowList('10.20.0.0/33')).toThrow(AccessConfigError);
    expect(() => parseAllowList('10.20.0.0/1a')).toThrow(/prefix length/);
  });

  it('knows loopback hosts', () => {
    expect(['127.0.0.1', 'localhost', '::1', '127.0.1.1'].map(isLoopbackHost)).toEqual([true, true, true, true]);
    expect(['0.0.0.0', '::', '10.1.2.3', 'srv-roc.chu.local'].map(isLoopbackHost)).toEqual([false, false, false, false]);
  });
});

describe('the flows’ HTTP endpoints (httpNodeMiddleware)', () => {
  const TOKEN = 'gap-chu-0123456789abcdef0123';
  const fromIp = (ip: string, headers: Record<string, string> = {}) => ({ socket: { remoteAddress: ip }, path: '/roc/dossier', headers });

  it('by default, serves this machine only', () => {
    const mw = httpAccess();
    expect(run(mw, fromIp('127.0.0.1')).passed).toBe(true);
    expect(run(mw, fromIp('::1')).passed).toBe(true);
    const { passed, res } = run(mw, fromIp('10.20.3.4'));
    expect(passed).toBe(false);
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(res.body!)).toEqual({ status: 'KO', reason: expect.stringMatching(/10\.20\.3\.4.*ROC_HTTP_ALLOW/) });
  });

  it('serves the clerks’ subnet of ROC_HTTP_ALLOW, not the rest, and ignores X-Forwarded-For', () => {
    const refused: string[] = [];
    const mw = httpAccess({ allow: '10.20.0.0/16', onRefused: (i) => refused.push(`${i.ip} ${i.path} ${i.reason}`) });
    expect(run(mw, fromIp('10.20.3.4')).passed).toBe(true);
    expect(run(mw, fromIp('127.0.0.1')).passed).toBe(false);
    expect(run(mw, fromIp('192.168.0.9', { 'x-forwarded-for': '10.20.3.4' })).passed).toBe(false);
    for (let i = 0; i < 50; i++) expect(run(mw, fromIp('192.168.0.9')).res.statusCode).toBe(403);
    // reported once a minute per address, not once per request
    expect(refused).toEqual(['127.0.0.1 /roc/dossier address not allowed', '192.168.0.9 /roc/dossier address not allowed']);
  });

  it('serves a GAP with a bearer token of ROC_API_TOKENS from anywhere, and refuses a wrong one (401) even from an allowed address', () => {
    const mw = httpAccess({ tokens: `autre-jeton-abcdefghijklmnopqrstuvwxyz, ${TOKEN}` });
    expect(run(mw, fromIp('192.168.0.9', { authorization: `Bearer ${TOKEN}` })).passed).toBe(true);
    const wrong = run(mw, fromIp('127.0.0.1', { authorization: `Bearer ${TOKEN}x` }));
    expect(wrong.passed).toBe(false);
    expect(wrong.res.statusCode).toBe(401);
    expect(wrong.res.headers['www-authenticate']).toMatch(/Bearer/);
    expect(run(mw, fromIp('192.168.0.9', { authorization: `Basic ${TOKEN}` })).passed).toBe(false);
  });

  it('refuses short tokens in the configuration', () => {
    expect(() => httpAccess({ tokens: 'secret' })).toThrow(/at least 24 characters/);
  });
});

describe('the ROC operations endpoints', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-access-'));
    configureAudit(path.join(dir, 'audit.log'));
  });
  afterEach(() => {
    configureAudit(undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const readAudit = () =>
    (fs.existsSync(path.join(dir, 'audit.log')) ? fs.readFileSync(path.join(dir, 'audit.log'), 'utf8') : '')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  /** Node-RED's needsPermission with adminAuth on: a user signed in with a token of that scope, or 401. */
  const signedInAs = (user?: { username: string; role: string; permissions: string | string[] }) => ({
    needsPermission: (perm: string) => (req: any, res: FakeRes, next: () => void) => {
      if (!user) {
        res.statusCode = 401;
        return res.end();
      }
      req.user = user;
      req.authInfo = { scope: user.permissions };
      if (hasPermission(user.permissions, perm)) return next();
      res.statusCode = 401;
      res.end();
    },
  });
  const chain = (mws: ((req: any, res: any, next: () => void) => void)[], req: Record<string, unknown>) => {
    const res = fakeRes();
    let reached = false;
    const step = (i: number) => (i === mws.length ? (reached = true) : mws[i](req, res, () => step(i + 1)));
    step(0);
    return { reached, res };
  };
  const target = (req: any) => ({ venue: req.params.key });
  const req = { headers: {}, params: { key: '250100421' }, query: {}, ip: '10.20.3.4' };

  it('refuses a viewer (403) and audits the attempt', () => {
    const viewer = { username: 'lecteur', role: 'viewer', permissions: ROLE_PERMISSIONS.viewer };
    const { reached, res } = chain(operationsAct(signedInAs(viewer), 'release', target), { ...req });
    expect(reached).toBe(false);
    expect(res.statusCode).toBe(403);
    expect(readAudit()).toEqual([
      {
        ts: expect.any(String),
        event: 'release',
        user: 'lecteur',
        role: 'viewer',
        outcome: 'denied',
        status: 403,
        ip: '10.20.3.4',
        target: { venue: '250100421' },
      },
    ]);
  });

  it('lets an operator through and audits the outcome once answered', () => {
    const operator = { username: 'operateur', role: 'operator', permissions: ROLE_PERMISSIONS.operator };
    const { reached, res } = chain(operationsAct(signedInAs(operator), 'release', target), { ...req });
    expect(reached).toBe(true);
    expect(readAudit()).toEqual([]);
    res.statusCode = 200;
    res.end('{}');
    expect(readAudit()).toMatchObject([{ event: 'release', user: 'operateur', role: 'operator', outcome: 'ok', status: 200 }]);
  });

  it('audits an anonymous attempt refused by Node-RED (401)', () => {
    const { reached } = chain(
      operationsAct(signedInAs(undefined), 'cancel', () => ({ id: '12' })),
      { ...req },
    );
    expect(reached).toBe(false);
    expect(readAudit()).toMatchObject([{ event: 'cancel', user: 'anonymous', outcome: 'denied', status: 401, target: { id: '12' } }]);
  });

  it('applies Node-RED’s own permission rule', () => {
    const scopes = fc.oneof(
      fc.constantFrom('*', 'read', 'write', '*.read', '*.write', 'flows.read', 'roc.operations.write', ''),
      fc.array(fc.constantFrom('read', 'flows.write', 'roc.operations.read', 'status.read'), { maxLength: 3 }),
    );
    const perms = fc.constantFrom(
      'flows.read',
      'flows.write',
      'credentials.read',
      'roc.operations.write',
      'roc.operations.read',
      'read',
      'status.read',
    );
    fc.assert(
      fc.property(scopes, perms, (s, p) => hasPermission(s, p) === nodeRedPermissions.hasPermission(s, p)),
      { seed: 7, numRuns: 500 },
    );
  });
});

describe('binding', () => {
  it('allows loopback without condition, and beyond only with users configured', () => {
    expect(() => checkBinding('127.0.0.1', false)).not.toThrow();
    expect(() => checkBinding('0.0.0.0', true)).not.toThrow();
    expect(() => checkBinding('0.0.0.0', false)).toThrow(/refusing to listen on 0\.0\.0\.0 .*without users.*ROC_ADMIN_PASSWORD/);
    expect(() => checkBinding('10.20.0.5', false)).toThrow(/docs\/security\.md/);
  });
});
