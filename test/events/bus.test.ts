/**
 * The event schema and the process-wide bus: versioned envelope, whitelisted fields (a value that
 * does not fit its shape is dropped: no NIR, name or birth date can ride in a code), dossiers named
 * by an opaque id (HMAC of the key under the installation's secret) or by their venue number where
 * the site allows it, subscribers isolated from each other and from the emitter; the bounded buffer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventBus, events, emitEvent } from '../../lib/events/bus';
import { BoundedBuffer } from '../../lib/events/buffer';
import { DossierIds, loadSecret } from '../../lib/events/dossier-id';
import { safeCode } from '../../lib/events/schema';
import type { RocEvent } from '../../lib/events/schema';

const NIR = '285075935012324';
const KEY = '750100125/V/250100421';

function collect(bus: EventBus): RocEvent[] {
  const seen: RocEvent[] = [];
  bus.subscribe((e) => seen.push(e));
  return seen;
}

describe('the event schema', () => {
  it('wraps an input in the v1 envelope and keeps the fields that have their shape', () => {
    const bus = new EventBus();
    bus.configure({ secret: 'secret-of-this-installation-for-tests' });
    const seen = collect(bus);
    bus.emit({
      node: 'roc-clc',
      nodeId: 'a1b2c3.d4',
      event: 'answered',
      service: 'CLC',
      outcome: 'KO',
      technical: false,
      code: 'BR-RIGHTS-CLOSED',
      latencyMs: 123.456,
      amc: '123456789',
      finess: '750100125',
      dossierKey: KEY,
    });
    expect(seen).toHaveLength(1);
    const e = seen[0];
    expect(e).toEqual({
      v: 1,
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      node: 'roc-clc',
      nodeId: 'a1b2c3.d4',
      event: 'answered',
      service: 'clc',
      outcome: 'KO',
      technical: false,
      code: 'BR-RIGHTS-CLOSED',
      latencyMs: 123.5,
      amc: '0123456789',
      finess: '750100125',
      dossier: expect.stringMatching(/^[0-9a-f]{24}$/),
    });
    expect(JSON.stringify(e)).not.toContain('250100421');
  });

  it('drops values that could carry patient data: NIR, birth date, name as a code; free text; unknown fields', () => {
    const bus = new EventBus();
    const seen = collect(bus);
    for (const code of [NIR, NIR.slice(0, 13), '19850712', '1985-07-12', '12/07/1985', 'MARTIN Jeanne', 'x'.repeat(40)]) {
      bus.emit({
        node: 'roc-idb',
        nodeId: 'n1',
        event: 'failed',
        code,
        state: 'Jeanne',
        queue: 'MARTIN 1985',
        amc: 'MARTIN',
        finess: NIR,
      } as never);
    }
    bus.emit({
      node: 'roc-idb',
      nodeId: 'n1',
      event: 'failed',
      nir: NIR,
      nom: 'MARTIN',
      dateNaissance: '1985-07-12',
      dossierKey: NIR,
    } as never);
    const text = JSON.stringify(seen);
    for (const bad of [NIR, NIR.slice(0, 13), '19850712', '1985-07-12', '12/07/1985', 'MARTIN', 'Jeanne']) expect(text).not.toContain(bad);
    expect(seen.every((e) => e.code === undefined && e.dossier === undefined)).toBe(true);
    // the codes of the bridge pass
    for (const c of ['0000', 'AA', 'AE', 'CA', 'BR-CIRCUIT-OPEN', 'ECONNREFUSED', '204', 'E-501']) expect(safeCode(c)).toBe(c);
  });

  it('is not an event without a known kind, a roc- node type and a node id (counted, not thrown)', () => {
    const bus = new EventBus();
    const seen = collect(bus);
    bus.emit({ node: 'roc-idb', nodeId: 'n', event: 'exploded' } as never);
    bus.emit({ node: 'function', nodeId: 'n', event: 'received' });
    bus.emit({ node: 'roc-idb', nodeId: 'a b', event: 'received' });
    bus.emit(undefined as never);
    expect(seen).toHaveLength(0);
    expect(bus.stats.invalid).toBe(4);
  });
});

describe('dossier ids', () => {
  it('opaque: the same key the same id under one secret, another under another secret; never the key', () => {
    const a = new DossierIds('opaque', 'secret-A-0123456789abcdef0123456789');
    const b = new DossierIds('opaque', 'secret-B-0123456789abcdef0123456789');
    expect(a.idOf(KEY)).toBe(a.idOf(KEY));
    expect(a.idOf(KEY)).not.toBe(b.idOf(KEY));
    expect(a.idOf(KEY)).not.toBe(a.idOf('750100125/V/250100422'));
    expect(a.idOf(KEY)).toMatch(/^[0-9a-f]{24}$/);
    expect(a.idOf('not a key')).toBeUndefined();
  });
  it('venue: the venue number where the site allows it; a key by NDA stays opaque', () => {
    const v = new DossierIds('venue', 'secret');
    expect(v.idOf(KEY)).toBe('250100421');
    expect(v.idOf('750100125/N/NDA0042')).toMatch(/^[0-9a-f]{24}$/);
    expect(DossierIds.finessOf(KEY)).toBe('750100125');
    expect(DossierIds.finessOf('-/V/1')).toBeUndefined();
  });
  it('the secret of the installation: ROC_EVENTS_SECRET, else a 0600 file created once in the user directory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-events-secret-'));
    const saved = process.env.ROC_EVENTS_SECRET;
    delete process.env.ROC_EVENTS_SECRET;
    try {
      const file = path.join(dir, 'roc-events.secret');
      const s1 = loadSecret(file);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(loadSecret(file).equals(s1)).toBe(true);
      process.env.ROC_EVENTS_SECRET = 'from-the-environment';
      expect(loadSecret(file).toString()).toBe('from-the-environment');
    } finally {
      if (saved === undefined) delete process.env.ROC_EVENTS_SECRET;
      else process.env.ROC_EVENTS_SECRET = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the bus', () => {
  it('isolates subscribers: one that throws is counted, the others and the emitter go on', () => {
    const bus = new EventBus();
    bus.subscribe(() => {
      throw new Error('broken subscriber');
    });
    const seen = collect(bus);
    expect(() => bus.emit({ node: 'roc-mllp-in', nodeId: 'in', event: 'received' })).not.toThrow();
    expect(seen).toHaveLength(1);
    expect(bus.stats).toMatchObject({ emitted: 1, subscriberErrors: 1 });
  });
  it('costs nothing when nobody listens; unsubscribe stops delivery', () => {
    const bus = new EventBus();
    expect(bus.emit({ node: 'roc-mllp-in', nodeId: 'in', event: 'received' })).toBeUndefined();
    const seen: RocEvent[] = [];
    const off = bus.subscribe((e) => seen.push(e));
    bus.emit({ node: 'roc-mllp-in', nodeId: 'in', event: 'received' });
    off();
    bus.emit({ node: 'roc-mllp-in', nodeId: 'in', event: 'received' });
    expect(seen).toHaveLength(1);
  });
  it('is one per process (emitEvent feeds the shared bus)', () => {
    const seen: RocEvent[] = [];
    const off = events.subscribe((e) => seen.push(e));
    emitEvent({ node: 'roc-mllp-out', nodeId: 'out', event: 'sent' });
    off();
    expect(seen.map((e) => e.event)).toEqual(['sent']);
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('roc-bridge.events.bus')]).toBe(events);
  });
});

describe('the bounded buffer', () => {
  it('keeps at most its capacity, drops the oldest and counts the drops', () => {
    const b = new BoundedBuffer<number>(3);
    for (let i = 1; i <= 5; i++) b.push(i);
    expect(b.length).toBe(3);
    expect(b.dropped).toBe(2);
    expect([b.shift(), b.shift(), b.shift(), b.shift()]).toEqual([3, 4, 5, undefined]);
    b.push(6);
    expect(b.shift()).toBe(6);
    expect(() => new BoundedBuffer(0)).toThrow(RangeError);
  });
});
