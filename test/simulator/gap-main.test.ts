/** The GAP simulator CLI (dist/simulator/gap-main.js, built by the test global setup). */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { acksFor, receive } from '../../lib/hl7/intake';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { parseGapArgs } from '../../simulator/gap-main';
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
  it.each([
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
