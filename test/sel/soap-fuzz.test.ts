/**
 * Fuzz of the SOAP parser and decoder (lib/sel/soap.ts, lib/sel/codec.ts) with fast-check: what an
 * AMC — or anything pretending to be one — answers, random or mutated from real answers, either
 * decodes or is refused with the parser's own typed error (SoapError), never anything else, and
 * never hangs (each case is timed, generously; the run is bounded). Fixed seed.
 */
import fc from 'fast-check';
import { codec, type OperationName } from '../../lib/sel/codec';
import { parseEnvelope, parseXml, SoapError, SOAP12_NS, buildFault } from '../../lib/sel/soap';

const FC = { seed: 20260307, interruptAfterTimeLimit: 20000 };
/** Far above what any case takes (a few ms): a case beyond this is a hang, not a slow machine. */
const CASE_MS = 2000;

const enTete = { requestId: '3f2b8c1e-5d4a-4e8b-9c71-2a6d0e4f9b13', responseId: 'REP-000451', horodatage: '2026-03-02T08:41:07Z' };
const lignes = [
  { numero: 1, code: 'FJ', montantAmc: 80, montantPatient: 0 },
  { numero: 2, code: 'GHS', montantAmc: 624.09, montantPatient: 0 },
];
const ANSWERS: Record<OperationName, Record<string, unknown>> = {
  annuaire: {
    enTete,
    statut: 'OK',
    messages: [{ code: '0000', groupe: 'OK', severite: 'INFO', libelle: 'Traitement effectué' }],
    amc: { numeroAmc: '0775685365', nom: 'Mutuelle des Cévennes', operateur: 'Tiers Payant Sud Opérateur', enRoc: true },
    services: [
      { service: 'idb', url: 'https://amc.example/idb' },
      { service: 'clc', url: 'https://amc.example/clc' },
    ],
    dureeValidite: 3600,
  },
  idb: {
    enTete,
    statut: 'OK',
    messages: [],
    couverture: {
      numeroContrat: 'CT-2026-004512',
      periodes: [{ debut: '2026-01-01', fin: '2026-12-31' }],
      domaines: ['HOSPITALISATION', 'CHAMBRE_PARTICULIERE'],
    },
    consignes: [{ code: 'C01', libelle: 'Chambre particulière : 60 € par jour' }],
    dateValidite: '2026-04-01',
  },
  sim: {
    enTete,
    statut: 'OK',
    messages: [],
    montants: { totalFacture: 3200.45, totalAmo: 2496.36, totalAmc: 704.09, resteACharge: 0 },
    lignes,
    consignes: [],
  },
  clc: {
    enTete,
    statut: 'OK',
    messages: [],
    montants: { totalFacture: 3200.45, totalAmo: 2496.36, totalAmc: 704.09, resteACharge: 0 },
    lignes,
    consignes: [],
    numeroEngagement: 'ENG-0775685365-000123',
    dateValiditeEngagement: '2026-06-01',
  },
  del: { enTete, statut: 'OK', messages: [{ code: '0000', libelle: 'Engagement annulé' }], numeroEngagement: 'ENG-0775685365-000123' },
};
const OPS = Object.keys(ANSWERS) as OperationName[];
const XML = Object.fromEntries(OPS.map((op) => [op, codec.encodeResponse(op, ANSWERS[op])])) as Record<OperationName, string>;

/** Run one decode: returns 'ok' or the SoapError kind; anything else thrown fails the property. */
function outcome(fn: () => unknown): string {
  const t0 = process.hrtime.bigint();
  let r: string;
  try {
    fn();
    r = 'ok';
  } catch (err) {
    if (!(err instanceof SoapError)) throw new Error(`not a SoapError: ${(err as Error)?.name}: ${(err as Error)?.message}`);
    r = err.kind;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (ms > CASE_MS) throw new Error(`decoding took ${ms.toFixed(0)} ms`);
  return r;
}

/** Mutations a broken or hostile peer produces: flipped bytes, cuts, duplications, insertions. */
const mutation = (xml: string) =>
  fc.oneof(
    fc.array(fc.tuple(fc.nat(xml.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }).map((muts) => {
      const b = Buffer.from(xml, 'utf8');
      for (const [i, v] of muts) b[i % b.length] = v;
      return b;
    }),
    fc.nat(xml.length).map((n) => xml.slice(0, n)),
    fc.tuple(fc.nat(xml.length), fc.nat(xml.length)).map(([a, b]) => xml.slice(0, Math.max(a, b)) + xml.slice(Math.min(a, b))),
    fc
      .tuple(
        fc.nat(xml.length),
        fc.constantFrom(
          '<',
          '>',
          '&',
          '&amp;',
          '&#0;',
          '&#x110000;',
          '&bogus;',
          ']]>',
          '<![CDATA[x]]>',
          '<!DOCTYPE x>',
          '<!ENTITY e "x">',
          '<?pi x?>',
          '<!-- c -->',
          '"',
          "'",
          '\u0000',
          '\uFFFE',
          'xmlns="urn:x"',
          'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"',
          '<soap:Fault/>',
          '</soap:Body>',
          '<a:b xmlns:a="">',
        ),
      )
      .map(([i, s]) => xml.slice(0, i) + s + xml.slice(i)),
  );

describe('SOAP parser fuzz: only its own typed error, never a hang', () => {
  it('decodes every real answer (the base of the mutations)', () => {
    for (const op of OPS) expect(outcome(() => codec.decodeResponse(op, XML[op]))).toBe('ok');
  });

  it('property: mutated real answers decode or throw SoapError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...OPS).chain((op) => fc.tuple(fc.constant(op), mutation(XML[op]))),
        ([op, bad]) => {
          outcome(() => codec.decodeResponse(op, bad));
        },
      ),
      { ...FC, numRuns: 3000 },
    );
  });

  it('property: random text, random bytes and XML-ish soup never throw anything else', () => {
    const soup = fc
      .array(
        fc.constantFrom(
          '<',
          '>',
          '/',
          '=',
          '"',
          "'",
          '&',
          ';',
          '#',
          'x',
          ':',
          'soap',
          'Envelope',
          'Body',
          'roc',
          'xmlns',
          ' ',
          '\n',
          '<!--',
          '-->',
          '<![CDATA[',
          ']]>',
          '<?',
          '?>',
          'é',
          '\u0000',
        ),
        { maxLength: 200 },
      )
      .map((a) => a.join(''));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 400 }),
          fc.uint8Array({ maxLength: 400 }).map((u) => Buffer.from(u)),
          soup,
        ),
        (input) => {
          outcome(() => parseXml(input));
          outcome(() => parseEnvelope(input));
          outcome(() => codec.decodeResponse('idb', input));
        },
      ),
      { ...FC, numRuns: 3000 },
    );
  });

  it('refuses hostile shapes with SoapError within the time bound: deep nesting, many siblings, huge attributes, faults', () => {
    const env = (body: string) => `<soap:Envelope xmlns:soap="${SOAP12_NS}"><soap:Body>${body}</soap:Body></soap:Envelope>`;
    const cases: [string, string | Buffer][] = [
      ['100,000 nested elements', env('<a>'.repeat(100_000) + '</a>'.repeat(100_000))],
      ['100,000 unclosed elements', env('<a>'.repeat(100_000))],
      ['200,000 siblings', env(`<r>${'<x/>'.repeat(200_000)}</r>`)],
      ['a 900 KB attribute', env(`<r a="${'x'.repeat(900_000)}"/>`)],
      ['10,000 namespace declarations', env(`<r ${Array.from({ length: 10_000 }, (_, i) => `xmlns:p${i}="urn:${i}"`).join(' ')}/>`)],
      ['over the size limit', Buffer.alloc(2 * 1024 * 1024, 0x20)],
      ['a fault with a huge reason', buildFault('Receiver', 'x'.repeat(500_000))],
      ['quadratic entity-free text', env(`<r>${'&amp;'.repeat(150_000)}</r>`)],
    ];
    for (const [name, xml] of cases) {
      const r = outcome(() => codec.decodeResponse('idb', xml));
      expect(`${name}: ${r === 'ok' ? 'ok' : 'SoapError'}`).toBe(`${name}: SoapError`);
    }
  });
});
