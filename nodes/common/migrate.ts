/**
 * Versioned settings migrations (the pattern of node-red-contrib-home-assistant-websocket): each
 * node carries a `version` property; a node saved by an earlier version goes through every
 * migration above its version, in order, in the runtime (node constructor) and in the editor
 * (oneditprepare, so that a flow saved again is upgraded). A node without `version` is version 0.
 *
 * Pure functions on a copy of the settings: the original definition is never changed.
 */

export type Settings = Record<string, unknown>;

export interface Migration {
  /** The version this migration produces. */
  version: number;
  up(s: Settings): Settings;
}

export function versionOf(s: Settings): number {
  const v = Number(s.version);
  return Number.isInteger(v) && v > 0 ? v : 0;
}

/** Applies the migrations above the settings' version, in order. */
export function migrate(s: Settings, migrations: readonly Migration[]): Settings {
  let out: Settings = { ...s };
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (versionOf(out) >= m.version) continue;
    out = { ...m.up(out), version: m.version };
  }
  return out;
}

const truthy = (v: unknown) => v === true || v === 'true';

/**
 * roc-mllp-in.
 * v1 (0.2): `journal` designates a roc-journal config node; the 0.1 journal path string moves to
 * `journalFile` (with `synchronous`, `retentionDays`, `commitWindowMs` it sets the implicit
 * journal used when no config node is referenced). TLS: `tls` was a checkbox with path fields
 * (`certFile`, `keyFile`, `caFile`, `requestCert`); it becomes `usetls` + `tls` = a tls-config
 * node id, as on roc-mllp-out; the path fields stay, honoured when no tls-config node is set.
 */
export const MLLP_IN_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up(s) {
      const out: Settings = { ...s };
      out.journalFile = typeof s.journal === 'string' ? s.journal : '';
      out.journal = '';
      out.usetls = truthy(s.tls);
      out.tls = '';
      return out;
    },
  },
];

/**
 * roc-mllp-out.
 * v1 (0.2): `journal` designates a roc-journal config node; the 0.1 file setting `dbPath` moves to
 * `journalFile` (the implicit journal when no config node is referenced). TLS unchanged.
 */
export const MLLP_OUT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up(s) {
      const out: Settings = { ...s };
      out.journalFile = typeof s.dbPath === 'string' ? s.dbPath : '';
      delete out.dbPath;
      out.journal = '';
      return out;
    },
  },
];

export const MLLP_IN_VERSION = 1;
export const MLLP_OUT_VERSION = 1;
