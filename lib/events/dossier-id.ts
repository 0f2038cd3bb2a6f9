/**
 * How an event names a dossier without naming the patient: an opaque id, the HMAC-SHA256 of the
 * dossier key (`<finess>/V/<venue>` or `<finess>/N/<nda>`) under a secret of this installation
 * (24 hex characters: the same dossier always has the same id here, and nobody without the secret
 * can compute it from a venue number); or, where the site allows it (`venue`), the venue number
 * itself (keys by NDA stay opaque).
 *
 * The secret: ROC_EVENTS_SECRET, else the file `roc-events.secret` in the user directory
 * (ROC_USER_DIR, default ./.node-red), created once with 32 random bytes (mode 0600); if the file
 * cannot be written, a random secret for this process only.
 */
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export type DossierIdMode = 'opaque' | 'venue';

const KEY_RE = /^([A-Za-z0-9-]{1,20})\/([VN])\/([A-Za-z0-9._-]{1,40})$/;

export function secretFile(): string {
  return path.join(process.env.ROC_USER_DIR || path.resolve('.node-red'), 'roc-events.secret');
}

/** The installation's secret (see the header). */
export function loadSecret(file = secretFile()): Buffer {
  if (process.env.ROC_EVENTS_SECRET) return Buffer.from(process.env.ROC_EVENTS_SECRET, 'utf8');
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    if (text.length >= 32) return Buffer.from(text, 'utf8');
  } catch {
    // not there yet
  }
  const fresh = randomBytes(32).toString('hex');
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, fresh + '\n', { mode: 0o600, flag: 'wx' });
  } catch {
    // another process wrote it first: use theirs; else this process's own secret
    try {
      const text = fs.readFileSync(file, 'utf8').trim();
      if (text.length >= 32) return Buffer.from(text, 'utf8');
    } catch {
      // unwritable user directory
    }
  }
  return Buffer.from(fresh, 'utf8');
}

export class DossierIds {
  private secret: Buffer | undefined;
  constructor(
    public mode: DossierIdMode = 'opaque',
    secret?: string | Buffer,
  ) {
    if (secret !== undefined) this.secret = Buffer.from(secret);
  }

  setSecret(secret: string | Buffer | undefined): void {
    this.secret = secret === undefined ? undefined : Buffer.from(secret);
  }

  /** The FINESS part of a dossier key (undefined when `-` or not a key). */
  static finessOf(key: unknown): string | undefined {
    const m = typeof key === 'string' ? KEY_RE.exec(key) : null;
    return m && m[1] !== '-' ? m[1] : undefined;
  }

  /** The id an event carries for the dossier key, or undefined when it is not a dossier key. */
  idOf(key: unknown): string | undefined {
    if (typeof key !== 'string') return undefined;
    const m = KEY_RE.exec(key);
    if (!m) return undefined;
    if (this.mode === 'venue' && m[2] === 'V') return m[3];
    this.secret ??= loadSecret();
    return createHmac('sha256', this.secret).update(key).digest('hex').slice(0, 24);
  }
}
