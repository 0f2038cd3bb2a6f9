/**
 * Micro benchmark of the HL7 library on one core: ER7 parsing, the full intake (charset decode +
 * parse + PAM-FR mapping + validation), ACK building, and MLLP deframing throughput.
 * Writes bench/results/hl7-parse.json. Run after the build: `node dist/bench/hl7-parse.js`.
 *
 * For reference it also times node-hl7-client's parser (a transitive dev dependency) on the same
 * message when it is installed; hl7-standard, named on the project's design card, is compared in the README.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseEr7 } from '../lib/hl7/er7';
import { acksFor, receive } from '../lib/hl7/intake';
import { MllpDeframer, frame } from '../lib/hl7/mllp';
import { parseAdmission } from '../lib/hl7/pamfr';
import { ROOT } from './common';

interface Result {
  name: string;
  ops: number;
  seconds: number;
  perSecond: number;
  unit: string;
}

/** Run fn repeatedly for about `ms` after a warm-up; returns operations per second. */
function measure(name: string, unit: string, fn: () => void, ms = 1500): Result {
  const warmEnd = Date.now() + 300;
  while (Date.now() < warmEnd) fn();
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 100; i++) fn();
    ops += 100;
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  return { name, ops, seconds: Number(seconds.toFixed(3)), perSecond: Math.round(ops / seconds), unit };
}

function main(): void {
  const root = ROOT;
  const fixture = path.join(root, 'test', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7');
  const isoFixture = path.join(root, 'test', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-8859-15.hl7');
  const bytes = readFileSync(fixture);
  const isoBytes = readFileSync(isoFixture);
  const text = bytes.toString('utf8');
  const results: Result[] = [];

  results.push(
    measure('parseEr7 (A01, 13 segments, AMO+AMC) + 6 field reads', 'messages/s', () => {
      const m = parseEr7(text);
      m.get('MSH-10');
      m.get('PID-3[2].1');
      m.get('PID-5[2].1');
      m.get('PV1-19');
      m.get('IN1[2]-3');
      m.get('IN1[2]-49');
    }),
  );
  const parsed = parseEr7(text);
  results.push(measure('parseAdmission on a parsed message', 'messages/s', () => void parseAdmission(parsed)));
  results.push(measure('receive(): UTF-8 bytes → decode + parse + PAM-FR + validation', 'messages/s', () => void receive(bytes)));
  results.push(measure('receive(): ISO 8859-15 bytes', 'messages/s', () => void receive(isoBytes)));
  results.push(measure('receive() + acksFor() (ACK text + bytes)', 'messages/s', () => void acksFor(receive(bytes))));

  // MLLP: a 64 KiB-chunked stream of many frames.
  const stream = Buffer.concat(Array.from({ length: 2000 }, () => frame(bytes)));
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 64 * 1024) chunks.push(stream.subarray(i, i + 64 * 1024));
  const mllp = measure(
    `MllpDeframer, ${(stream.length / 1e6).toFixed(1)} MB stream of 2000 frames in 64 KiB chunks`,
    'streams/s',
    () => {
      const d = new MllpDeframer();
      for (const c of chunks) d.push(c);
    },
    1000,
  );
  results.push(mllp);
  const mllpMBps = Math.round((mllp.perSecond * stream.length) / 1e6);

  // Reference: node-hl7-client's parser, when installed.
  let reference: Result | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Message } = require('node-hl7-client') as { Message: new (o: { text: string }) => { get(p: string): { toString(): string } } };
    reference = measure('reference: node-hl7-client Message + 6 field reads', 'messages/s', () => {
      const m = new Message({ text });
      m.get('MSH.10').toString();
      m.get('PID.3').toString();
      m.get('PID.5.1').toString();
      m.get('PV1.19').toString();
      m.get('IN1.3').toString();
      m.get('IN1.49').toString();
    });
  } catch {
    reference = undefined;
  }
  if (reference) results.push(reference);

  const hl7Standard = compareHl7Standard(text);

  const out = {
    benchmark: 'hl7-parse',
    at: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    messageBytes: bytes.length,
    results,
    mllpMegabytesPerSecond: mllpMBps,
    hl7Standard,
    target: { name: 'ADT parsed per second on one core', minimum: 10000, met: results[2].perSecond >= 10000 },
  };
  const dir = path.join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'hl7-parse.json'), JSON.stringify(out, null, 2) + '\n');
  for (const r of results) console.log(`${r.name}: ${r.perSecond.toLocaleString('en')} ${r.unit}`);
  console.log(`MLLP: ${mllpMBps} MB/s`);
}

interface Hl7StandardMessage {
  transform(): void;
  get(field: string, index?: number, sectionIndex?: number): unknown;
}

/**
 * hl7-standard (named on the project's design card) against our parser on the same message and
 * the same six field reads, measured in alternation (A B A B, 5 rounds) so machine noise hits
 * both sides; and the behaviours PAM-FR intake needs, probed on small messages.
 */
function compareHl7Standard(text: string): unknown {
  let HL7: new (t: string) => Hl7StandardMessage;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    HL7 = require('hl7-standard');
  } catch {
    return { installed: false };
  }
  const ours = () => {
    const m = parseEr7(text);
    m.get('MSH-10');
    m.get('PID-3[2].1');
    m.get('PID-5[2].1');
    m.get('PV1-19');
    m.get('IN1[2]-3');
    m.get('IN1[2]-49');
  };
  const theirs = () => {
    const h = new HL7(text);
    h.transform();
    h.get('MSH.10');
    h.get('PID.3', 0, 1);
    h.get('PID.5', 0, 1);
    h.get('PV1.19');
    h.get('IN1.3', 1);
    h.get('IN1.49', 1);
  };
  const rounds: Array<{ ours: number; hl7Standard: number; ratio: number }> = [];
  for (let i = 0; i < 5; i++) {
    const a = measure('ours', 'messages/s', ours, 500).perSecond;
    const b = measure('hl7-standard', 'messages/s', theirs, 500).perSecond;
    rounds.push({ ours: a, hl7Standard: b, ratio: Number((a / b).toFixed(2)) });
  }
  const probe = (er7: string, field: string): string => {
    try {
      const h = new HL7(er7);
      h.transform();
      return JSON.stringify(h.get(field));
    } catch (e) {
      return `throws: ${(e as Error).message}`;
    }
  };
  const behaviours = {
    'escape \\S\\ in PID-5.1 (expected "DUPONT^JR")': probe(
      'MSH|^~\\&|A|B|C|D|20261120||ADT^A01|X1|P|2.5\rPID|||1^^^X||DUPONT\\S\\JR^Jean\r',
      'PID.5.1',
    ),
    'delimiters declared in MSH-1/2 as #!~\\& (expected PID-5.1 "DUPONT")': probe(
      'MSH#!~\\&#A#B#C#D#20261120##ADT!A01#X2#P#2.5\rPID###1!!!X##DUPONT!Jean\r',
      'PID.5.1',
    ),
    'truncated frame "MSH|^~" (expected: a typed issue to NACK)': probe('MSH|^~', 'MSH.10'),
  };
  const ratios = rounds.map((r) => r.ratio).sort((x, y) => x - y);
  console.log(`hl7-standard: our parser ${ratios[2]}× faster (median of 5 alternated rounds)`);
  return { installed: true, rounds, medianRatioOursOverTheirs: ratios[2], behaviours };
}

main();
