/**
 * The MLLP listener when a helper below it fails (lib/gap/mllp-listener.ts), on what mutation
 * testing left alive: the header of bytes outside frames cannot be read (a fault inside lib/hl7)
 * and the GAP still gets its AR, with our names and without its own; the retention purge of the
 * journal the listener opened fails and the operator is told. The helpers are made to fail on
 * demand; realistic bytes over 127.0.0.1, port 0.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const faults = { context: false };
jest.mock('../../lib/hl7/ack', () => {
  const actual = jest.requireActual('../../lib/hl7/ack');
  return {
    ...actual,
    ackContextFromBytes: (...a: unknown[]) => {
      if (faults.context) throw new TypeError('LEFÈVRE-BŒUF 285075935012324');
      return actual.ackContextFromBytes(...a);
    },
  };
});
const opened: Array<{ onPurgeError?: (e: Error) => void }> = [];
jest.mock('../../lib/store/sqlite', () => {
  const actual = jest.requireActual('../../lib/store/sqlite');
  return {
    ...actual,
    openSqliteJournal: (o: { onPurgeError?: (e: Error) => void }) => {
      opened.push(o);
      return actual.openSqliteJournal(o);
    },
  };
});

import { MllpListener, type ListenerOptions } from '../../lib/gap/mllp-listener';
import { MllpDeframer } from '../../lib/hl7/mllp';
import { waitFor } from '../support/mllp-peer';

let dir: string;
let listener: MllpListener | undefined;
const sockets: net.Socket[] = [];
const errors: string[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-listener-survivors-a2-'));
  errors.length = 0;
  opened.length = 0;
});

afterEach(async () => {
  faults.context = false;
  for (const s of sockets.splice(0)) s.destroy();
  await listener?.close();
  listener = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(extra: Partial<ListenerOptions> = {}): Promise<MllpListener> {
  const l: MllpListener = new MllpListener(
    { host: '127.0.0.1', port: 0, journalFile: path.join(dir, 'journal.sqlite'), synchronous: 'NORMAL', ...extra },
    (m) => void l.complete(m.journalId),
    (text) => errors.push(text),
  );
  listener = l;
  await l.start();
  return l;
}

const msh = (b: Buffer) => b.toString('utf8').split('\r')[0].split('|');

describe('a helper fails under the listener', () => {
  it('the header of bytes outside frames cannot be read: still an AR, from our names, in the default charset', async () => {
    const l = await start({ defaultCharset: 'utf8', application: 'ROC-PONT', facility: 'CLINIQUE-SUD' });
    const frames: Buffer[] = [];
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(l.port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    sockets.push(socket);
    const d = new MllpDeframer();
    socket.on('data', (c) => {
      for (const e of d.push(c)) if (e.kind === 'frame') frames.push(e.bytes);
    });
    faults.context = true;
    socket.write(Buffer.from('MSH|^~\\&|CPAGE|CHU-NORD|ROC-BRIDGE|CHU-NORD|20250114093512||ADT^A01^ADT_A01|HORS-1|P|2.5\r', 'latin1'));
    await waitFor(() => frames.length === 1, 'the AR');
    const f = msh(frames[0]);
    expect(f.slice(2, 6)).toEqual(['ROC-PONT', 'CLINIQUE-SUD', '', '']);
    expect(f[17]).toBe('UNICODE UTF-8');
    const text = frames[0].toString('utf8');
    expect(text).toContain('MSA|AR|');
    expect(text).toContain('octets reçus hors trame MLLP');
    expect(text).not.toContain('LEFÈVRE');
  });

  it('a failed retention purge of the journal it opened is reported to the operator', async () => {
    await start({ retentionDays: 30 });
    expect(opened).toHaveLength(1);
    opened[0].onPurgeError?.(new Error('retention purge failed: disk I/O error'));
    expect(errors).toEqual(['retention purge failed: disk I/O error']);
  });
});
