/**
 * Readiness: each check ok or not with a short detail (no path, no patient data); 200 when all
 * are ok, 503 otherwise; a probe that hangs counts as failed. The journal check, the AMC
 * directory check within its cache rules.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { directoryReachable, journalWritable, readiness } from '../../lib/events/health';

describe('readiness', () => {
  it('200 when every check is ok, 503 with the failing check otherwise; a hanging probe is a failure', async () => {
    const ok = await readiness([() => [{ name: 'a', ok: true }], async () => [{ name: 'b', ok: true }]]);
    expect(ok).toEqual({
      status: 200,
      body: {
        status: 'ready',
        checks: [
          { name: 'a', ok: true },
          { name: 'b', ok: true },
        ],
      },
    });
    const ko = await readiness([() => [{ name: 'a', ok: true }], () => [{ name: 'broker', ok: false, detail: 'disconnected' }]]);
    expect(ko.status).toBe(503);
    expect(ko.body.status).toBe('not ready');
    const hung = await readiness([() => new Promise(() => undefined)], 50);
    expect(hung).toMatchObject({ status: 503, body: { checks: [{ ok: false, detail: 'timeout' }] } });
    const thrown = await readiness([
      () => {
        throw new Error('/secret/path/roc-journal.sqlite');
      },
    ]);
    expect(JSON.stringify(thrown)).not.toContain('/secret');
  });

  it('journal: writable directory and file; a missing directory is not; only the file name is told', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-health-'));
    try {
      const file = path.join(dir, 'roc-journal.sqlite');
      fs.writeFileSync(file, '');
      expect(journalWritable(file)).toEqual({ name: 'journal:roc-journal.sqlite', ok: true });
      const gone = journalWritable(path.join(dir, 'absent', 'roc-journal.sqlite'));
      expect(gone).toEqual({ name: 'journal:roc-journal.sqlite', ok: false, detail: 'ENOENT' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('AMC directory: ok unless its circuit is open with nothing cached to serve', () => {
    const client = (state: 'closed' | 'open' | 'half-open', size: number) => ({ breaker: { state: () => state }, cache: { size } });
    expect(directoryReachable('directory:750100125', client('closed', 0)).ok).toBe(true);
    expect(directoryReachable('directory:750100125', client('half-open', 0)).ok).toBe(true);
    expect(directoryReachable('directory:750100125', client('open', 3))).toEqual({
      name: 'directory:750100125',
      ok: true,
      detail: 'unreachable, cached answers served',
    });
    expect(directoryReachable('directory:750100125', client('open', 0))).toMatchObject({ ok: false });
    expect(directoryReachable('directory:750100125', undefined)).toMatchObject({ ok: false });
  });
});
