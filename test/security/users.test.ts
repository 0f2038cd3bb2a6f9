/**
 * The ROC users (lib/security/users.ts): the users file and ROC_USERS, the first-start admin,
 * ROC_ADMIN_PASSWORD, the roles' Node-RED permissions, the adminAuth Node-RED calls.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { hasPermission } from '../../lib/security/access';
import {
  adminAuthFor,
  loadUsers,
  parseUsers,
  randomPassword,
  ROLE_PERMISSIONS,
  UserStore,
  UsersError,
  writeUsersFile,
  type UserRecord,
} from '../../lib/security/users';

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-users-'));
  file = path.join(dir, 'roc-users.json');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const hash = (p: string) => bcrypt.hashSync(p, 4);

describe('roles', () => {
  const may = (role: keyof typeof ROLE_PERMISSIONS, p: string) => hasPermission(ROLE_PERMISSIONS[role], p);

  it.each([
    ['flows.read', true, true, true],
    ['nodes.read', true, true, true],
    ['status.read', true, true, true], // /comms
    ['roc.operations.read', true, true, true],
    ['roc.operations.write', false, true, true],
    ['credentials.read', false, false, true],
    ['context.read', false, false, true],
    ['flows.write', false, false, true],
    ['nodes.write', false, false, true],
    ['settings.write', false, false, true],
    ['roc.patient.unmask', false, false, true],
  ])('%s: viewer %s, operator %s, admin %s', (perm, viewer, operator, admin) => {
    expect([may('viewer', perm), may('operator', perm), may('admin', perm)]).toEqual([viewer, operator, admin]);
  });
});

describe('users file and ROC_USERS', () => {
  it('reads users with a role and a bcrypt hash', () => {
    const users = parseUsers({ users: [{ username: 'c.durand', role: 'operator', password: hash('Hôpital-2026!') }] }, 'test');
    expect(users.map((u) => [u.username, u.role])).toEqual([['c.durand', 'operator']]);
  });

  it.each([
    [{ users: [{ username: 'c.durand', role: 'operator', password: 'Hôpital-2026!' }] }, /bcrypt hash/],
    [{ users: [{ username: 'c.durand', role: 'chef', password: hash('x') }] }, /"role" must be one of viewer, operator, admin/],
    [{ users: [{ username: 'c durand', role: 'viewer', password: hash('x') }] }, /"username"/],
    [
      {
        users: [
          { username: 'a', role: 'viewer', password: hash('x') },
          { username: 'a', role: 'admin', password: hash('y') },
        ],
      },
      /appears twice/,
    ],
    [{ people: [] }, /expected \{"users"/],
  ])('refuses a bad entry with a message naming it (%#)', (raw, msg) => {
    expect(() => parseUsers(raw, 'users file x')).toThrow(msg);
  });

  it('on a first start, creates admin with a random password, stores only its hash, mode 0600', async () => {
    const r = await loadUsers({ file });
    expect(r.generatedPassword).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(r.written).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain(r.generatedPassword);
    const stored = JSON.parse(text).users as UserRecord[];
    expect(stored.map((u) => [u.username, u.role])).toEqual([['admin', 'admin']]);
    expect(await bcrypt.compare(r.generatedPassword!, stored[0].password)).toBe(true);

    // next start: nothing generated, nothing written
    const again = await loadUsers({ file });
    expect(again.generatedPassword).toBeUndefined();
    expect(again.written).toBe(false);
    expect(again.users).toEqual(stored);
  });

  it('uses ROC_ADMIN_PASSWORD instead of a random one, and updates the hash when it changes', async () => {
    const r = await loadUsers({ file, adminPassword: 'conteneur-Secret-42' });
    expect(r.generatedPassword).toBeUndefined();
    const store = new UserStore();
    store.replace(r.users);
    expect(await store.authenticate('admin', 'conteneur-Secret-42')).toMatchObject({ username: 'admin', role: 'admin', permissions: '*' });
    const unchanged = await loadUsers({ file, adminPassword: 'conteneur-Secret-42' });
    expect(unchanged.written).toBe(false);
    const changed = await loadUsers({ file, adminPassword: 'nouveau-Secret-43' });
    expect(changed.written).toBe(true);
    store.replace(changed.users);
    expect(await store.authenticate('admin', 'conteneur-Secret-42')).toBeNull();
    expect(await store.authenticate('admin', 'nouveau-Secret-43')).not.toBeNull();
    expect(fs.readFileSync(file, 'utf8')).not.toContain('nouveau-Secret-43');
  });

  it('refuses a short ROC_ADMIN_PASSWORD', async () => {
    await expect(loadUsers({ file, adminPassword: 'admin' })).rejects.toThrow(/ROC_ADMIN_PASSWORD: at least 10/);
  });

  it('adds ROC_USERS to the file users without creating an admin, and refuses a plain password there', async () => {
    const env = JSON.stringify([{ username: 'accueil1', role: 'viewer', password: hash('Accueil-Paris-1') }]);
    const r = await loadUsers({ file, envUsers: env });
    expect(r.users.map((u) => u.username)).toEqual(['accueil1']);
    expect(fs.existsSync(file)).toBe(false);
    await expect(loadUsers({ file, envUsers: '[{"username":"x","role":"admin","password":"secret"}]' })).rejects.toThrow(UsersError);
    await expect(loadUsers({ file, envUsers: '{not json' })).rejects.toThrow(/ROC_USERS: not valid JSON/);
  });

  it('makes a users file readable by others private again, with a warning', async () => {
    writeUsersFile(file, [{ username: 'admin', role: 'admin', password: hash('Admin-Secret-1') }]);
    fs.chmodSync(file, 0o644);
    const r = await loadUsers({ file });
    expect(r.warnings.join()).toMatch(/mode is now 0600/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses to create a first admin when not allowed to', async () => {
    await expect(loadUsers({ file, allowCreate: false })).rejects.toThrow(/no users/);
  });

  it('generates passwords from an unambiguous alphabet, all different', () => {
    const seen = new Set(Array.from({ length: 200 }, () => randomPassword()));
    expect(seen.size).toBe(200);
    for (const p of seen) expect(p).toMatch(/^[A-HJ-NP-Za-km-z2-9]{24}$/);
  });
});

describe('adminAuth for Node-RED', () => {
  const store = new UserStore();
  beforeAll(() =>
    store.replace([
      { username: 'admin', role: 'admin', password: hash('Admin-Secret-1') },
      { username: 'operateur', role: 'operator', password: hash('Operateur-Secret-1') },
      { username: 'lecteur', role: 'viewer', password: hash('Lecteur-Secret-1') },
    ]),
  );
  const auth = adminAuthFor(store);

  it('is Node-RED "credentials" adminAuth with users() and authenticate()', async () => {
    expect(auth.type).toBe('credentials');
    expect(await auth.users('lecteur')).toEqual({ username: 'lecteur', role: 'viewer', permissions: ROLE_PERMISSIONS.viewer });
    expect(await auth.users('inconnu')).toBeNull();
    expect(await auth.users('__proto__')).toBeNull();
  });

  it('authenticates the right password only, never handing back the hash', async () => {
    const u = await auth.authenticate('operateur', 'Operateur-Secret-1');
    expect(u).toEqual({ username: 'operateur', role: 'operator', permissions: ROLE_PERMISSIONS.operator });
    expect(JSON.stringify(u)).not.toContain('$2');
    expect(await auth.authenticate('operateur', 'Lecteur-Secret-1')).toBeNull();
    expect(await auth.authenticate('inconnu', 'Operateur-Secret-1')).toBeNull();
    expect(await auth.authenticate('operateur', undefined)).toBeNull();
    expect(await auth.authenticate({ username: 'operateur' }, 'Operateur-Secret-1')).toBeNull();
  });
});
