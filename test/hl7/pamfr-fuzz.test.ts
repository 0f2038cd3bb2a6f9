/**
 * Property-based tests (fast-check, fixed seed, bounded runs) over the PAM-FR mapper: real
 * messages (the fixtures and the published samples of test/fixtures/samples) mutated at the field level
 * (values replaced by hostile ones: bad dates, escapes, delimiters, huge values, HL7 nulls;
 * fields, repetitions and segments dropped, duplicated, moved) and at the byte level. Whatever
 * comes in:
 * - the ER7 parser returns a message or throws its typed Er7Error (a table-0357 code), nothing else;
 * - parseAdmission never throws; it returns typed issues (E errors, W warnings, table-0357 codes)
 *   whose texts never quote the patient's identity (names, NIR, birth date);
 * - the admission is plain JSON (what goes on msg.roc.admission);
 * - receive() (decode + parse + map) never throws (nor hides a throw behind its generic 207) and
 *   always gives AA, AE or AR.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { receive } from '../../lib/hl7/intake';
import { Er7Error, parseEr7 } from '../../lib/hl7/er7';
import { parseAdmission } from '../../lib/hl7/pamfr';
import { TABLE_0357 } from '../../lib/hl7/profile';
import { SAMPLES } from '../support/samples';

const SEED = 20260107;
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'hl7');

/** Every .hl7 file of a fixture folder (inside the repository: a missing folder is an error). */
function read(dir: string): Array<{ name: string; bytes: Buffer }> {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.hl7'))
    .map((f) => ({ name: f, bytes: fs.readFileSync(path.join(dir, f)) }));
}

const BASES = [...read(FIXTURES), ...read(SAMPLES)];
/** Each base as text (its own charset: UTF-8 when MSH-18 says so, else ISO 8859-15 ≈ latin1 here). */
const TEXTS = BASES.map((b) =>
  /UNICODE UTF-8/.test(b.bytes.toString('latin1').split('\r')[0]) ? b.bytes.toString('utf8') : b.bytes.toString('latin1'),
);

/** Identity values of the fixtures' patients that must never appear in an issue text. */
const IDENTITY = ['LEFÈVRE', 'BŒUF', 'Hélène', 'FRANÇOIS', '285075935012324', '19850714', '481516'];

const hostileValue = fc.oneof(
  fc.constantFrom(
    '',
    '""',
    '20251340',
    '2025',
    '20250230',
    '99999999999999',
    '2025-01-14',
    'ABC',
    '0',
    '-1',
    '1e9',
    '\\F\\',
    '\\X00\\',
    '\\Zfoo\\',
    '&&&',
    '^^^^',
    '~~',
    '\\',
    'NaN',
    'I',
    'O',
    'ADT^A01^ADT_A01',
  ),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: fc.constantFrom(...'ABCDEFÉŒ0123456789 -'.split('')), minLength: 200, maxLength: 3000 }),
  fc.array(fc.constantFrom('1', '2', '^', '&', '~', 'A', '\\', ' '), { maxLength: 30 }).map((a) => a.join('')),
);

type FieldMut = {
  op: 'set' | 'drop' | 'dupRep' | 'dupSeg' | 'dropSeg' | 'moveSeg' | 'truncateSeg';
  seg: number | string;
  field: number;
  value: string;
};

/** The fields the mapper reads (targeted half of the time). */
const MAPPED: Array<[string, number]> = [
  ['MSH', 9],
  ['MSH', 10],
  ['MSH', 18],
  ['EVN', 2],
  ['EVN', 6],
  ['PID', 3],
  ['PID', 5],
  ['PID', 7],
  ['PID', 8],
  ['PID', 18],
  ['PID', 32],
  ['PV1', 2],
  ['PV1', 3],
  ['PV1', 19],
  ['PV1', 44],
  ['PV1', 45],
  ['PV2', 8],
  ['ZBE', 1],
  ['ZBE', 2],
  ['ZBE', 4],
  ['ZBE', 6],
  ['IN1', 2],
  ['IN1', 3],
  ['IN1', 12],
  ['IN1', 13],
  ['IN1', 15],
  ['IN1', 36],
  ['IN1', 49],
  ['IN2', 1],
  ['IN3', 5],
];

const fieldMut: fc.Arbitrary<FieldMut> = fc.oneof(
  fc.record({
    op: fc.constantFrom('set', 'set', 'set', 'drop', 'dupRep', 'dupSeg', 'dropSeg', 'moveSeg', 'truncateSeg'),
    seg: fc.nat(),
    field: fc.integer({ min: 1, max: 50 }),
    value: hostileValue,
  }),
  fc
    .record({ op: fc.constantFrom('set', 'set', 'dupRep'), target: fc.constantFrom(...MAPPED), value: hostileValue })
    .map(({ op, target, value }): FieldMut => ({ op, seg: target[0], field: target[1], value })),
);

function mutateFields(text: string, muts: FieldMut[]): string {
  const segs = text.split('\r').filter((s) => s !== '');
  for (const m of muts) {
    if (segs.length === 0) break;
    const k = typeof m.seg === 'number' ? m.seg % segs.length : segs.findIndex((x) => x.startsWith(`${m.seg}|`));
    if (k < 0) continue;
    const f = segs[k].split('|');
    // MSH-1/MSH-2 are the delimiters: keep them for field mutations (byte mutations break them)
    const idx = f[0] === 'MSH' ? Math.max(2, m.field - 1) : m.field;
    switch (m.op) {
      case 'set':
        while (f.length <= idx) f.push('');
        f[idx] = m.value;
        segs[k] = f.join('|');
        break;
      case 'drop':
        if (idx < f.length) f.splice(idx, 1);
        segs[k] = f.join('|');
        break;
      case 'dupRep':
        if (idx < f.length) f[idx] = `${f[idx]}~${f[idx]}`;
        segs[k] = f.join('|');
        break;
      case 'dupSeg':
        segs.splice(k, 0, segs[k]);
        break;
      case 'dropSeg':
        segs.splice(k, 1);
        break;
      case 'moveSeg': {
        const [s] = segs.splice(k, 1);
        segs.splice(m.field % (segs.length + 1), 0, s);
        break;
      }
      case 'truncateSeg':
        segs[k] = segs[k].slice(0, m.field);
        break;
    }
  }
  return segs.join('\r') + '\r';
}

const mutatedText = fc
  .tuple(fc.nat(), fc.array(fieldMut, { minLength: 1, maxLength: 6 }))
  .map(([i, muts]) => mutateFields(TEXTS[i % TEXTS.length], muts));

function checkIssues(issues: Array<{ code: string; severity: string; message: string }>, severity: 'E' | 'W'): void {
  for (const i of issues) {
    expect(Object.keys(TABLE_0357)).toContain(i.code);
    expect(i.severity).toBe(severity);
    expect(typeof i.message).toBe('string');
    for (const v of IDENTITY) expect(i.message).not.toContain(v);
  }
}

describe('PAM-FR mapper (fuzz on mutated real messages)', () => {
  it('has real messages to mutate', () => {
    expect(BASES.length).toBeGreaterThanOrEqual(7);
  });

  it('field-level mutations: the parser throws only Er7Error, the mapper never throws and reports typed issues', () => {
    fc.assert(
      fc.property(mutatedText, (text) => {
        let message;
        try {
          message = parseEr7(text);
        } catch (e) {
          expect(e).toBeInstanceOf(Er7Error);
          expect(Object.keys(TABLE_0357)).toContain((e as Er7Error).code);
          return;
        }
        const r = parseAdmission(message);
        checkIssues(r.errors, 'E');
        checkIssues(r.warnings, 'W');
        expect(r.ok).toBe(r.errors.length === 0);
        if (r.admission) expect(JSON.parse(JSON.stringify(r.admission))).toEqual(r.admission);
      }),
      { seed: SEED, numRuns: 600 },
    );
  });

  it('byte-level mutations through receive(): never throws, always AA / AE / AR with typed issues', () => {
    const byteMut = fc.record({ at: fc.nat(), len: fc.integer({ min: 0, max: 40 }), bytes: fc.uint8Array({ maxLength: 16 }) });
    fc.assert(
      fc.property(fc.nat(), fc.array(byteMut, { minLength: 1, maxLength: 5 }), fc.boolean(), (i, muts, fieldsToo) => {
        let b = BASES[i % BASES.length].bytes;
        for (const m of muts) {
          const at = b.length ? m.at % b.length : 0;
          b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at + m.len)]);
        }
        if (fieldsToo) b = Buffer.from(mutateFields(b.toString('latin1'), [{ op: 'set', seg: i, field: 3, value: '\\X41\\' }]), 'latin1');
        const r = receive(b);
        expect(['AA', 'AE', 'AR']).toContain(r.ackCode);
        checkIssues(
          r.issues.filter((x) => x.severity === 'E'),
          'E',
        );
        checkIssues(
          r.issues.filter((x) => x.severity === 'W'),
          'W',
        );
        if (r.ackCode !== 'AA') expect(r.issues.some((x) => x.severity === 'E')).toBe(true);
        // 207 is receive()'s answer to an exception thrown inside: none may happen
        expect(r.issues.filter((x) => x.code === '207')).toEqual([]);
        if (r.admission) expect(JSON.parse(JSON.stringify(r.admission))).toEqual(r.admission);
      }),
      { seed: SEED, numRuns: 600 },
    );
  });
});
