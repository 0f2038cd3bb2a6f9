/**
 * Starts the ROC Bridge runtime exactly as `npm start` does (node scripts/start.js), on an
 * ephemeral port with a throw-away user dir, and stops it with SIGINT like Ctrl-C.
 *
 * The runtime gets three users (docs/security.md): `admin` (ROC_ADMIN_PASSWORD), `operateur`
 * and `lecteur` (ROC_USERS); `rt.headers('operator')` signs in through Node-RED's own
 * POST /auth/token and gives the Authorization header of that role.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';

export type TestRole = 'admin' | 'operator' | 'viewer';

/** The test users of every runtime started here (fictitious, for tests only). */
export const TEST_USERS: Record<TestRole, { username: string; password: string }> = {
  admin: { username: 'admin', password: 'e2e-Admin-Mot-de-passe-2026' },
  operator: { username: 'operateur', password: 'e2e-Operateur-Mot-de-passe' },
  viewer: { username: 'lecteur', password: 'e2e-Lecteur-Mot-de-passe' },
};

let testUsersJson: string | undefined;
/** ROC_USERS for the operator and the viewer (bcrypt cost 4: fast, tests only). */
export function testUsersEnv(): string {
  testUsersJson ||= JSON.stringify({
    users: (['operator', 'viewer'] as const).map((role) => ({
      username: TEST_USERS[role].username,
      role,
      password: bcrypt.hashSync(TEST_USERS[role].password, 4),
    })),
  });
  return testUsersJson;
}

/** Signs in through Node-RED's token login (POST /auth/token); resolves with the access token. */
export async function login(baseUrl: string, username: string, password: string): Promise<{ status: number; token?: string }> {
  const res = await fetch(`${baseUrl}auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '', username, password }),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: string };
  return { status: res.status, token: body.access_token };
}

export interface StartedRuntime {
  url: string;
  proc: ChildProcess;
  output: () => string;
  /** The user dir of this runtime (users file, audit trail, journal), removed by stop(). */
  userDir: string;
  /** A bearer token of the role's test user (signed in once, then cached). */
  token(role?: TestRole): Promise<string>;
  /** `{ authorization: 'Bearer …' }` for the role (default admin), plus `extra`. */
  headers(role?: TestRole, extra?: Record<string, string>): Promise<Record<string, string>>;
  /** SIGINT, then resolves with the exit code. */
  stop(): Promise<number | null>;
}

const ROOT = path.resolve(__dirname, '..', '..');

export async function startRuntimeProcess(env: Record<string, string> = {}, timeoutMs = 30000): Promise<StartedRuntime> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-bridge-e2e-'));
  const proc = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      ROC_PORT: '0',
      ROC_HOST: '127.0.0.1',
      ROC_USER_DIR: userDir,
      ROC_DEV_CERT_DIR: path.join(userDir, 'certs'),
      ROC_ADMIN_PASSWORD: TEST_USERS.admin.password,
      ROC_USERS: testUsersEnv(),
      // the operations events' embedded MQTT broker on any free port (runtimes run side by side)
      ROC_EVENTS_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL'); // never leave a half-started runtime behind
      fs.rmSync(userDir, { recursive: true, force: true });
      reject(new Error(`runtime not ready after ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = () => {
      const m = /ROC Bridge ready at (https?:\/\/\S+?\/)\s/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', check);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      fs.rmSync(userDir, { recursive: true, force: true });
      reject(new Error(`runtime exited with ${code} before being ready:\n${out}`));
    });
  });

  const tokens = new Map<TestRole, Promise<string>>();
  const token = (role: TestRole = 'admin'): Promise<string> => {
    let t = tokens.get(role);
    if (!t) {
      t = login(url, TEST_USERS[role].username, TEST_USERS[role].password).then((r) => {
        if (!r.token) throw new Error(`login of the test ${role} refused (${r.status})`);
        return r.token;
      });
      tokens.set(role, t);
      t.catch(() => tokens.delete(role));
    }
    return t;
  };
  return {
    url,
    proc,
    userDir,
    output: () => out,
    token,
    async headers(role: TestRole = 'admin', extra: Record<string, string> = {}) {
      return { authorization: `Bearer ${await token(role)}`, ...extra };
    },
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGINT');
      const code = await exited;
      fs.rmSync(userDir, { recursive: true, force: true });
      return code;
    },
  };
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}
