/**
 * The people who may use the editor, the admin API, `/comms` and the `/roc/*` operations
 * endpoints: users with a role (viewer / operator / admin) and a bcrypt hash of their password,
 * read from a users file (JSON, mode 0600, in the Node-RED user directory by default) and/or
 * the environment (ROC_USERS). On a first start without any user, an `admin` is created with a
 * random password (or ROC_ADMIN_PASSWORD): the password is handed back once to be printed, only
 * its hash is stored.
 *
 * Pure TypeScript: the Node-RED `adminAuth` object is built from plain functions (see
 * {@link adminAuthFor}); Node-RED calls them for its own token login (POST /auth/token).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcryptjs';

export type Role = 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** Read the ROC operations lists (held venues, failed GAP answers). */
export const OPERATIONS_READ = 'roc.operations.read';
/** Act on them: release a held venue, resend or cancel an answer to the GAP. */
export const OPERATIONS_WRITE = 'roc.operations.write';
/** See patient identifiers in clear where they are masked for the other roles. */
export const PATIENT_UNMASK = 'roc.patient.unmask';

/**
 * Node-RED permissions of each role. A viewer reads the flows, the palette, the settings and the
 * operations lists, but neither the credentials (`credentials.read`) nor the context stores; an
 * operator also acts on the operations lists; an admin may do everything (deploy, credentials,
 * unmask).
 */
export const ROLE_PERMISSIONS: Record<Role, string | string[]> = {
  viewer: ['flows.read', 'nodes.read', 'settings.read', 'library.read', 'plugins.read', 'status.read', 'debug.read', OPERATIONS_READ],
  operator: [
    'flows.read',
    'nodes.read',
    'settings.read',
    'library.read',
    'plugins.read',
    'status.read',
    'debug.read',
    OPERATIONS_READ,
    OPERATIONS_WRITE,
  ],
  admin: '*',
};

export interface UserRecord {
  username: string;
  role: Role;
  /** bcrypt hash ($2a$/$2b$/$2y$). */
  password: string;
}

/** What Node-RED sees of a user (never the hash). */
export interface PublicUser {
  username: string;
  permissions: string | string[];
  role: Role;
}

export class UsersError extends Error {}

const BCRYPT_RE = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const USERNAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;
/** bcrypt cost of the hashes this module writes (about 50–100 ms per login). */
export const BCRYPT_COST = 10;
export const MIN_PASSWORD_LENGTH = 10;

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

export function hashPassword(password: string, cost = BCRYPT_COST): Promise<string> {
  return bcrypt.hash(password, cost);
}

/** Validates a list of users as found in a users file or ROC_USERS; `where` names the source. */
export function parseUsers(raw: unknown, where: string): UserRecord[] {
  const list = Array.isArray(raw)
    ? raw
    : raw && typeof raw === 'object' && Array.isArray((raw as { users?: unknown }).users)
      ? (raw as { users: unknown[] }).users
      : undefined;
  if (!list) throw new UsersError(`${where}: expected {"users": [{"username", "role", "password"}]}`);
  const seen = new Set<string>();
  return list.map((u, i) => {
    const o = (u && typeof u === 'object' ? u : {}) as Record<string, unknown>;
    const at = `${where}, user #${i + 1}`;
    if (typeof o.username !== 'string' || !USERNAME_RE.test(o.username))
      throw new UsersError(`${at}: "username" must be 1–64 letters, digits or . _ @ -`);
    if (seen.has(o.username)) throw new UsersError(`${at}: user "${o.username}" appears twice`);
    seen.add(o.username);
    if (!isRole(o.role)) throw new UsersError(`${at} (${o.username}): "role" must be one of ${ROLES.join(', ')}`);
    if (typeof o.password !== 'string' || !BCRYPT_RE.test(o.password)) {
      throw new UsersError(
        `${at} (${o.username}): "password" must be a bcrypt hash ($2b$…), never the password itself — see docs/security.md`,
      );
    }
    return { username: o.username, role: o.role, password: o.password };
  });
}

/** Reads a users file; `undefined` when it does not exist. */
export function readUsersFile(file: string): UserRecord[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsersError(`users file ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsersError(`users file ${file}: not valid JSON`);
  }
  return parseUsers(json, `users file ${file}`);
}

/** Writes the users file atomically, mode 0600 (the hashes are secrets too). */
export function writeUsersFile(file: string, users: UserRecord[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ users }, null, 2) + '\n', { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

/** The users Node-RED authenticates against; filled at start by {@link loadUsers}. */
export class UserStore {
  private users = new Map<string, UserRecord>();
  /** A hash to compare against for unknown names, so that they cost the same time as known ones. */
  private decoy?: string;

  replace(users: UserRecord[]): void {
    this.users = new Map(users.map((u) => [u.username, { ...u }]));
  }

  get size(): number {
    return this.users.size;
  }

  list(): { username: string; role: Role }[] {
    return [...this.users.values()].map(({ username, role }) => ({ username, role }));
  }

  get(username: string): PublicUser | null {
    const u = typeof username === 'string' ? this.users.get(username) : undefined;
    return u ? { username: u.username, role: u.role, permissions: ROLE_PERMISSIONS[u.role] } : null;
  }

  async authenticate(username: string, password: string): Promise<PublicUser | null> {
    const u = typeof username === 'string' ? this.users.get(username) : undefined;
    this.decoy ||= bcrypt.hashSync(randomBytes(16).toString('hex'), BCRYPT_COST);
    const ok = await bcrypt.compare(typeof password === 'string' ? password : '', u ? u.password : this.decoy).catch(() => false);
    return ok && u ? this.get(u.username) : null;
  }
}

/** The users of this process (the runtime fills it; settings.js hands it to Node-RED). */
export const users = new UserStore();

/**
 * Node-RED `adminAuth` (type "credentials") backed by a store: Node-RED's own login
 * (POST /auth/token, the editor's login dialog) calls `authenticate`, every request with a
 * token calls `users` to find who it belongs to (a user removed from the file loses access).
 */
export function adminAuthFor(store: UserStore, sessionExpiryTime = 12 * 3600) {
  return {
    type: 'credentials' as const,
    sessionExpiryTime,
    users: (username: string) => Promise.resolve(store.get(username)),
    authenticate: (username: unknown, password: unknown) =>
      typeof username === 'string' && typeof password === 'string' ? store.authenticate(username, password) : Promise.resolve(null),
  };
}

export interface LoadUsersOptions {
  /** The users file (ROC_USERS_FILE, default <userDir>/roc-users.json). */
  file: string;
  /** ROC_USERS: a JSON list of users (same format as the file), added to the file's. */
  envUsers?: string;
  /** ROC_ADMIN_PASSWORD: the password of `admin` (created or updated), instead of a random one. */
  adminPassword?: string;
  /** Whether a first-start admin may be created (false: refuse to start without users). */
  allowCreate?: boolean;
}

export interface LoadedUsers {
  users: UserRecord[];
  file: string;
  /** Set on a first start: the generated admin password, to be printed once and never again. */
  generatedPassword?: string;
  /** The file was created (first start) or its admin hash updated (ROC_ADMIN_PASSWORD). */
  written: boolean;
  /** Warnings worth a log line (file readable by others…). */
  warnings: string[];
}

/** A random password: 24 characters from an unambiguous alphabet (about 138 bits). */
export function randomPassword(length = 24): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const limit = 256 - (256 % alphabet.length); // rejection sampling: every character equally likely
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; i < bytes.length && out.length < length; i++) {
    if (bytes[i] < limit) out += alphabet[bytes[i] % alphabet.length];
  }
  return out.length === length ? out : randomPassword(length);
}

/**
 * Loads the users: file, then ROC_USERS; applies ROC_ADMIN_PASSWORD; on a first start (no user
 * at all) creates `admin` and writes the file (mode 0600) with its hash only.
 */
export async function loadUsers(o: LoadUsersOptions): Promise<LoadedUsers> {
  const warnings: string[] = [];
  let fromFile = readUsersFile(o.file);
  if (fromFile) {
    const mode = fs.statSync(o.file).mode & 0o077;
    if (mode) {
      fs.chmodSync(o.file, 0o600);
      warnings.push(`the users file ${o.file} was readable by other accounts: its mode is now 0600`);
    }
  }
  let fromEnv: UserRecord[] = [];
  if (o.envUsers && o.envUsers.trim()) {
    let json: unknown;
    try {
      json = JSON.parse(o.envUsers);
    } catch {
      throw new UsersError('ROC_USERS: not valid JSON (expected [{"username", "role", "password": "<bcrypt hash>"}])');
    }
    fromEnv = parseUsers(json, 'ROC_USERS');
  }
  if (o.adminPassword !== undefined && o.adminPassword.length < MIN_PASSWORD_LENGTH) {
    throw new UsersError(`ROC_ADMIN_PASSWORD: at least ${MIN_PASSWORD_LENGTH} characters`);
  }

  let written = false;
  let generatedPassword: string | undefined;
  const fileUsers = fromFile ?? [];
  if (o.adminPassword !== undefined) {
    const admin = fileUsers.find((u) => u.username === 'admin');
    if (!admin || !(await bcrypt.compare(o.adminPassword, admin.password))) {
      const password = await hashPassword(o.adminPassword);
      if (admin) {
        admin.password = password;
        admin.role = 'admin';
      } else fileUsers.push({ username: 'admin', role: 'admin', password });
      fromFile = fileUsers;
      written = true;
    }
  } else if (fileUsers.length === 0 && fromEnv.length === 0) {
    if (o.allowCreate === false) {
      throw new UsersError(`no users: create ${o.file} or set ROC_ADMIN_PASSWORD / ROC_USERS (docs/security.md)`);
    }
    generatedPassword = randomPassword();
    fileUsers.push({ username: 'admin', role: 'admin', password: await hashPassword(generatedPassword) });
    fromFile = fileUsers;
    written = true;
  }
  if (written) writeUsersFile(o.file, fileUsers);

  // ROC_USERS complete (and, by name, override) the file's users.
  const byName = new Map<string, UserRecord>();
  for (const u of [...fileUsers, ...fromEnv]) byName.set(u.username, u);
  if (o.adminPassword !== undefined)
    byName.set(
      'admin',
      fileUsers.find((u) => u.username === 'admin')!,
    );
  return { users: [...byName.values()], file: o.file, generatedPassword, written, warnings };
}
