/** The GAP simulator CLI (dist/simulator/gap-main.js, built by the test global setup). */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { acksFor, receive } from '../../lib/hl7/intake';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { ackContextFromBytes, buildAck } from '../../lib/hl7/ack';
import { decodeFrame } from '../../lib/hl7/charset';
import { parseEr7 } from '../../lib/hl7/er7';
import { answersSummary, liveDay, parseGapArgs } from '../../simulator/gap-main';
import { seedBeneficiaries } from '../../simulator/gap-day';

const ROOT = path.resolve(__dirname, '..', '..');

describe('parseGapArgs', () => {
  it('reads the documented options', () => {
    const a = parseGapArgs(
      '--port 2575 --rate 50 --venues 40 --messages 2000 --charset 8859/15 --ack enhanced --line-ending lf --split --connections 8 --window 4'.split(
        ' ',
      ),
    );
    expect(a).toMatchObject({
      port: 2575,
      rate: 50,
      venues: 40,
      messages: 2000,
      charset: 'iso-8859-15',
      ackMode: 'enhanced',
      connections: 8,
      window: 4,
      quirks: { lineEnding: 'LF', splitFrames: true },
    });
    expect(parseGapArgs(['--port', '1', '--charset', 'UTF-8']).charset).toBe('utf8');
    expect(parseGapArgs(['--port', '1', '--charset', '8859/1']).charset).toBe('latin1');
  });
  it('reads the invoice, id and answer options (defaults: invoices, a run tag, 10 s wait, 2 s quiet)', () => {
    expect(parseGapArgs(['--port', '1'])).toMatchObject({ invoices: true, amoPayments: true, waitAnswers: 10, answersQuiet: 2 });
    expect(parseGapArgs(['--port', '1', '--no-amo-payments'])).toMatchObject({ invoices: true, amoPayments: false });
    expect(parseGapArgs(['--port', '1']).idPrefix).toBeUndefined();
    expect(
      parseGapArgs('--port 1 --no-invoices --fixed-ids --wait-answers 30 --answers-quiet 5 --json out.json --answers-port 2576'.split(' ')),
    ).toMatchObject({ invoices: false, idPrefix: 'GAP', waitAnswers: 30, answersQuiet: 5, json: 'out.json', answersPort: 2576 });
    expect(parseGapArgs(['--port', '1', '--id-prefix', 'NUIT-1']).idPrefix).toBe('NUIT-1');
  });
  it('prints the answers by service × status, OK before KO, with the engagement count', () => {
    expect(
      answersSummary(
        {
          received: 9,
          distinct: 8,
          duplicates: 1,
          byResult: { 'CLC OK': 2, 'IDB KO technical': 1, 'DEL OK': 1, 'IDB OK': 3, 'IDB KO': 1 },
          engagements: 2,
          invoices: {},
          other: 0,
        },
        2100,
      ),
    ).toBe('answers=8 (IDB OK=3 IDB KO=1 IDB KO technical=1 CLC OK=2 DEL OK=1) engagements=2 duplicates=1 other=0 waited=2.1s');
  });
  it('prints the billing returns (ZRC-1 RSP) after the services, with the invoices by state', () => {
    expect(
      answersSummary({
        received: 5,
        distinct: 5,
        duplicates: 0,
        byResult: { 'RSP KO': 1, 'CLC OK': 2, 'RSP OK': 2 },
        engagements: 2,
        invoices: { REJETE: 1, PAYE: 1, PAYE_PARTIEL: 1 },
        other: 0,
      }),
    ).toBe('answers=5 (CLC OK=2 RSP OK=2 RSP KO=1) engagements=2 invoices=(PAYE=1 PAYE_PARTIEL=1 REJETE=1) duplicates=0 other=0');
  });
  it.each([
    [['--port', '1', '--id-prefix', 'THIRTEEN-CHAR'], /--id-prefix must be 1 to 12/],
    [['--port', '1', '--wait-answers', '-1'], /--wait-answers must be an integer/],
    [[], /--port is required/],
    [['--port', 'x'], /--port must be an integer/],
    [['--port', '1', '--charset', 'EBCDIC'], /--charset must be/],
    [['--port', '1', '--ack', 'maybe'], /--ack must be original or enhanced/],
    [['--port', '1', '--bogus'], /unknown option --bogus/],
  ])('refuses %j with a clear message', (argv, re) => {
    expect(() => parseGapArgs(argv)).toThrow(re);
  });
});

describe('gap-main CLI', () => {
  it('streams a day to an MLLP listener, prints counts and never patient data', async () => {
    const acked = new Set<string>();
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      const d = new MllpDeframer();
      s.on('data', (c: Buffer) => {
        for (const ev of d.push(c)) {
          if (ev.kind !== 'frame') continue;
          const intake = receive(ev.bytes);
          acked.add(intake.context.controlId ?? '');
          s.write(frame(acksFor(intake).application!.bytes));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const child = spawn(
        process.execPath,
        [
          path.join(ROOT, 'dist/simulator/gap-main.js'),
          '--port',
          String(port),
          '--messages',
          '150',
          '--venues',
          '10',
          '--window',
          '4',
          '--charset',
          '8859/15',
          '--no-invoices',
          '--quiet',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const code = await new Promise<number | null>((r) => child.on('close', r));
      expect(code).toBe(0);
      expect(out).toMatch(/acked=150 \(AA=150\)/);
      expect(acked.size).toBe(150);
      for (const b of seedBeneficiaries()) {
        expect(out).not.toContain(b.nom);
        expect(out).not.toContain(b.nir);
      }
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('plays the ROC cycle: answers port open before the first message, invoices, answers counted, ids unique per run', async () => {
    // A fake bridge: AA to everything; answers on the GAP's answers port (IDB after an admission,
    // CLC with an engagement after an invoice, DEL after a cancellation following an invoice),
    // a little later, like the AMC round trips.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gap-main-'));
    const answersPort = await new Promise<number>((r) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => r(p));
      });
    });
    const ids: string[][] = [];
    const sockets = new Set<net.Socket>();
    let answers: net.Socket | undefined;
    let firstConnectFailed = false;
    const expected = { idb: 0, clc: new Set<string>(), clcAnswers: 0, del: 0 };
    const billed = new Set<string>();
    let seq = 0;
    const answer = (zrc: string, venue: string): void => {
      const t = [
        `MSH|^~\\&|ROC_BRIDGE|CH-ROC|GAP-SIM|CH-ROC|20260316101500||ADT^Z80^ADT_A01|RB${++seq}|P|2.5^FRA^2.11|||||FRA|8859/15`,
        'EVN||20260316101500',
        `PV1|1|I|||||||||||||||||${venue}`,
        `ZRC|${zrc}`,
      ].join('\r');
      setTimeout(() => answers?.write(frame(Buffer.from(t, 'latin1'))), 300).unref();
    };
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      const d = new MllpDeframer();
      s.on('data', (c: Buffer) => {
        for (const ev of d.push(c)) {
          if (ev.kind !== 'frame') continue;
          const ctx = ackContextFromBytes(ev.bytes);
          ids[ids.length - 1].push(ctx.controlId ?? '');
          if (!answers) {
            answers = net.connect(answersPort, '127.0.0.1');
            answers.on('error', () => (firstConnectFailed = true));
            answers.on('data', () => undefined);
          }
          const m = parseEr7(decodeFrame(ev.bytes).text);
          const event = m.get('MSH-9.2');
          const venue = m.get('PV1-19');
          if (event === 'A01' || event === 'A04') {
            expected.idb++;
            answer('IDB|OK|N|0775685365', venue);
          } else if (event === 'P03') {
            billed.add(venue);
            expected.clcAnswers++;
            expected.clc.add(`ENG-${m.get('ZFA-1')}`);
            answer(`CLC|OK|N|0775685365||||||ENG-${m.get('ZFA-1')}`, venue);
          } else if (event === 'A13' && billed.has(venue)) {
            expected.del++;
            answer('DEL|OK|N|0775685365', venue);
          }
          s.write(frame(buildAck(ctx, { code: 'AA', application: 'ROC-BRIDGE' }).bytes));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const run = async (json: string): Promise<{ code: number | null; out: string }> => {
      ids.push([]);
      answers = undefined;
      seq += 1000;
      const child = spawn(
        process.execPath,
        [
          path.join(ROOT, 'dist/simulator/gap-main.js'),
          ...['--port', String(port), '--messages', '400', '--venues', '10', '--window', '4', '--seed', '11'],
          ...['--answers-port', String(answersPort), '--wait-answers', '10', '--answers-quiet', '1', '--json', json, '--quiet'],
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const code = await new Promise<number | null>((r) => child.on('close', r));
      (answers as net.Socket | undefined)?.destroy();
      return { code, out };
    };
    try {
      const first = await run(path.join(dir, 'run1.json'));
      expect(first.code).toBe(0);
      expect(firstConnectFailed).toBe(false);
      expect(first.out).toMatch(/acked=400 \(AA=400\) ADT\(AA=\d+\) BAR\(AA=\d+\) DFT\(AA=\d+\)/);
      const doc = JSON.parse(readFileSync(path.join(dir, 'run1.json'), 'utf8'));
      expect(doc.stats.byType.DFT.AA).toBeGreaterThan(20);
      expect(doc.answers).toMatchObject({
        distinct: expected.idb + expected.clcAnswers + expected.del,
        duplicates: 0,
        engagements: expected.clc.size,
        other: 0,
        byResult: { 'IDB OK': expected.idb, 'CLC OK': expected.clcAnswers, ...(expected.del ? { 'DEL OK': expected.del } : {}) },
      });
      // An amended invoice gets a second CLC for the same engagement.
      expect(expected.clcAnswers).toBeGreaterThan(expected.clc.size);
      expect(first.out).toContain(`engagements=${expected.clc.size}`);
      expect(first.out).toMatch(new RegExp(`answers=${doc.answers.distinct} \\(IDB OK=${expected.idb} CLC OK=${expected.clcAnswers}`));
      // The second run against the same bridge: not one control id in common.
      const second = await run(path.join(dir, 'run2.json'));
      expect(second.code).toBe(0);
      expect(ids[0].length).toBe(400);
      expect(ids[1].filter((id) => new Set(ids[0]).has(id))).toEqual([]);
      for (const id of [...ids[0], ...ids[1]]) expect(id.length).toBeLessThanOrEqual(20);
      for (const b of seedBeneficiaries()) expect(first.out).not.toContain(b.nom);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 with the usage on a bad option', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/simulator/gap-main.js'), '--port', '2575', '--charset', 'EBCDIC'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(2);
    expect(err).toMatch(/--charset must be 8859\/15, 8859\/1 or UNICODE UTF-8/);
    expect(err).toMatch(/Usage:/);
  });
});

describe('liveDay', () => {
  it('dates a live run today while today falls in the seeded rights, else leaves the default day', () => {
    expect(liveDay(new Date('2026-12-06T03:00:00Z'))).toBe('2026-12-06');
    expect(liveDay(new Date('2027-01-02T03:00:00Z'))).toBeUndefined();
  });
});
