/**
 * Readiness checks (GET /health/ready): each check says ok or not with a short detail (no paths,
 * no patient data: the endpoint answers without authentication). 200 when every check is ok, 503
 * otherwise. Liveness (GET /health) is the process answering at all.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface HealthCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export type HealthProbe = () => HealthCheck[] | Promise<HealthCheck[]>;

export interface Readiness {
  status: 200 | 503;
  body: { status: 'ready' | 'not ready'; checks: HealthCheck[] };
}

/** Runs the probes (each bounded by `timeoutMs`: a probe that hangs counts as failed). */
export async function readiness(probes: HealthProbe[], timeoutMs = 2000): Promise<Readiness> {
  const checks: HealthCheck[] = [];
  for (const probe of probes) {
    let timer: NodeJS.Timeout | undefined;
    try {
      const r = await Promise.race([
        Promise.resolve().then(probe),
        new Promise<HealthCheck[]>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
        }),
      ]);
      checks.push(...r);
    } catch (e) {
      checks.push({ name: 'probe', ok: false, detail: (e as Error).message === 'timeout' ? 'timeout' : 'error' });
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
  const ok = checks.every((c) => c.ok);
  return { status: ok ? 200 : 503, body: { status: ok ? 'ready' : 'not ready', checks } };
}

/**
 * A journal file is writable: the file and its directory (SQLite writes its -wal and -shm beside
 * it) accept writes, and the file system has room.
 */
export function journalWritable(file: string): HealthCheck {
  const name = `journal:${path.basename(file)}`;
  try {
    const dir = path.dirname(file);
    fs.accessSync(dir, fs.constants.W_OK);
    if (fs.existsSync(file)) fs.accessSync(file, fs.constants.W_OK);
    const st = fs.statfsSync(dir);
    if (st.bavail * st.bsize < 1024 * 1024) return { name, ok: false, detail: 'disk full' };
    return { name, ok: true };
  } catch (e) {
    return { name, ok: false, detail: (e as NodeJS.ErrnoException).code ?? 'not writable' };
  }
}

/** What the directory check reads of a RocClient. */
export interface DirectoryClientLike {
  breaker: { state(key: string): 'closed' | 'open' | 'half-open' };
  cache: { size: number };
}

/**
 * The AMC directory is usable within its cache rules: its circuit is not open (reachable, or not
 * failing), or it is open but the cache holds answers it serves meanwhile (last known good).
 */
export function directoryReachable(name: string, client: DirectoryClientLike | undefined): HealthCheck {
  if (!client) return { name, ok: false, detail: 'no client (invalid establishment)' };
  const state = client.breaker.state('annuaire');
  if (state !== 'open') return { name, ok: true, detail: state === 'half-open' ? 'trial' : undefined };
  if (client.cache.size > 0) return { name, ok: true, detail: 'unreachable, cached answers served' };
  return { name, ok: false, detail: 'unreachable, nothing cached' };
}
