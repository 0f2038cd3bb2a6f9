/**
 * The HTTP guard's pure part (lib/http/guard.ts): the streaming JSON shape scan, the JSON body
 * parse and the multipart/form-data reader. Unit cases plus fast-check properties over random
 * JSON values, random bytes and mutated forms (fixed seed, bounded runs).
 */
import fc from 'fast-check';
import {
  JsonShapeScanner,
  formatBytes,
  isJsonType,
  multipartBoundary,
  parseJsonBody,
  parseMultipart,
  toBytes,
  type JsonLimits,
  type MultipartLimits,
} from '../../lib/http/guard';

const LIMITS: JsonLimits = { maxBytes: 1024 * 1024, maxDepth: 32, maxItems: 10_000, maxStringBytes: 64 * 1024 };
const FC = { seed: 20260307, numRuns: 300 };

const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

/** Depth and element count of a parsed value, without recursion (the oracle of the scanner). */
function shapeOf(v: unknown): { depth: number; items: number } {
  let depth = 0;
  let items = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    const kids = Array.isArray(x) ? x : Object.values(x);
    depth = Math.max(depth, d + 1);
    items += kids.length;
    for (const k of kids) stack.push([k, d + 1]);
  }
  return { depth, items };
}

const DOSSIER = {
  amc: { numeroAmc: '0775685365', typeConvention: 'MU' },
  beneficiaire: { nir: '1850775123456', cleNir: '47', dateNaissance: '1985-07-14', nom: 'GUÉRIN', prenom: 'Hélène' },
  venue: { type: 'HOSPITALISATION', dateEntree: '2026-03-02', dateSortie: '2026-03-06' },
  facture: {
    numero: 'FAC-2026-000421',
    lignes: [
      {
        numero: 1,
        code: 'GHS',
        dateDebut: '2026-03-02',
        dateFin: '2026-03-06',
        quantite: 1,
        prixUnitaire: 3450.12,
        baseAmo: 3450.12,
        tauxAmo: 80,
        montantAmo: 2760.1,
      },
      { numero: 2, code: 'CP', dateDebut: '2026-03-02', quantite: 4, prixUnitaire: 75, baseAmo: 0, tauxAmo: 0, montantAmo: 0 },
    ],
  },
};

describe('JSON shape scan, on the raw bytes before any parse', () => {
  it('refuses a 5,000-level nested array (10 KB) at its 33rd bracket, with a reason', () => {
    const body = Buffer.from(nested(5000));
    expect(body.length).toBe(10_000);
    const s = new JsonShapeScanner(LIMITS);
    const r = s.push(body);
    expect(r).toMatchObject({ status: 400, code: 'JSON_TROP_PROFOND' });
    expect(r!.reason).toMatch(/plus de 32 niveaux/);
    expect(s.maxDepthSeen).toBe(33); // stopped there: the rest was not even looked at
    const parsed = parseJsonBody(body, LIMITS);
    expect(parsed.ok).toBe(false);
  });

  it('passes a real dossier and counts its depth and elements exactly', () => {
    const body = Buffer.from(JSON.stringify(DOSSIER));
    const s = new JsonShapeScanner(LIMITS);
    expect(s.push(body)).toBeUndefined();
    expect({ depth: s.maxDepthSeen, items: s.items }).toEqual(shapeOf(DOSSIER));
    expect(parseJsonBody(body, LIMITS)).toEqual({ ok: true, value: DOSSIER });
  });

  it('does not count brackets, commas or quotes inside strings', () => {
    const v = { scan: '[[[[{{{{,,,,\\"]]]]', motif: 'a "quoted" ,[x]' };
    const s = new JsonShapeScanner({ ...LIMITS, maxDepth: 1, maxItems: 2 });
    expect(s.push(Buffer.from(JSON.stringify(v)))).toBeUndefined();
    expect(s.items).toBe(2);
  });

  it('refuses too many elements, and a string too long, naming neither value', () => {
    const many = Buffer.from(JSON.stringify({ lignes: Array.from({ length: 10_001 }, () => 0) }));
    expect(parseJsonBody(many, LIMITS)).toMatchObject({ ok: false, refusal: { status: 400, code: 'JSON_TROP_D_ELEMENTS' } });
    const long = Buffer.from(JSON.stringify({ scan: 'x'.repeat(64 * 1024 + 1) }));
    expect(parseJsonBody(long, LIMITS)).toMatchObject({ ok: false, refusal: { status: 400, code: 'TEXTE_TROP_LONG' } });
    const big = Buffer.from(JSON.stringify({ a: 'x'.repeat(1000) }));
    expect(parseJsonBody(big, { ...LIMITS, maxBytes: 500 })).toMatchObject({
      ok: false,
      refusal: { status: 413, code: 'DEMANDE_TROP_LOURDE' },
    });
  });

  it('answers malformed JSON with a refusal that does not quote the body', () => {
    const r = parseJsonBody(Buffer.from('{"beneficiaire":{"nir":"1850775123456",'), LIMITS);
    expect(r).toMatchObject({ ok: false, refusal: { status: 400, code: 'JSON_INVALIDE' } });
    expect(JSON.stringify(r)).not.toContain('1850775123456');
    expect(parseJsonBody(Buffer.from('  '), LIMITS)).toEqual({ ok: true, value: {} });
  });

  it('property: for any JSON value, refused exactly when deeper or larger than the limits; else parsed as JSON.parse does', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 8 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 40 }),
        (v, maxDepth, maxItems) => {
          const body = Buffer.from(JSON.stringify(v));
          const limits = { ...LIMITS, maxDepth, maxItems };
          const shape = shapeOf(v);
          const r = parseJsonBody(body, limits);
          if (shape.depth > maxDepth || shape.items > maxItems) {
            expect(r.ok).toBe(false);
            if (!r.ok) expect(r.refusal.status).toBe(400);
          } else {
            expect(r).toEqual({ ok: true, value: JSON.parse(body.toString('utf8')) });
          }
        },
      ),
      FC,
    );
  });

  it('property: the scan gives the same answer whatever the chunking of the body', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 20 }), (v, cuts) => {
        const body = Buffer.from(JSON.stringify(v));
        const limits = { ...LIMITS, maxDepth: 4, maxItems: 20, maxStringBytes: 30 };
        const whole = new JsonShapeScanner(limits);
        const expected = whole.push(body);
        const parts = new JsonShapeScanner(limits);
        let got;
        let pos = 0;
        for (const n of [...cuts, body.length]) {
          got = parts.push(body.subarray(pos, pos + n)) ?? got;
          pos += n;
          if (pos >= body.length) break;
        }
        expect(got?.code).toBe(expected?.code);
      }),
      FC,
    );
  });

  it('property: random bytes and random text never throw, and whatever parses is within the limits', () => {
    const limits = { ...LIMITS, maxDepth: 5, maxItems: 50 };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 2000 }),
          fc.string({ maxLength: 500 }).map((s) => Buffer.from(s)),
          fc.stringMatching(/^[[\]{}",:0-9a "\\]{0,300}$/).map((s) => Buffer.from(s)),
        ),
        (bytes) => {
          const r = parseJsonBody(bytes, limits);
          if (r.ok) {
            const shape = shapeOf(r.value);
            expect(shape.depth).toBeLessThanOrEqual(5);
            expect(shape.items).toBeLessThanOrEqual(50);
          } else expect([400, 413]).toContain(r.refusal.status);
        },
      ),
      { ...FC, numRuns: 1000 },
    );
  });

  it('recognises JSON content types and reads sizes as Node-RED settings write them', () => {
    expect(isJsonType('application/json')).toBe(true);
    expect(isJsonType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonType('application/fhir+json')).toBe(true);
    expect(isJsonType('application/jsonp')).toBe(false);
    expect(isJsonType('text/plain')).toBe(false);
    expect(isJsonType(undefined)).toBe(false);
    expect(toBytes('5mb')).toBe(5 * 1024 * 1024);
    expect(toBytes('256kb')).toBe(256 * 1024);
    expect(toBytes(1000)).toBe(1000);
    expect(toBytes('beaucoup')).toBe(5 * 1024 * 1024);
    expect(formatBytes(10 * 1024 * 1024)).toBe('10 Mo');
    expect(formatBytes(1500)).toBe('2 Ko');
  });
});

describe('multipart/form-data, read strictly', () => {
  const MP: MultipartLimits = { maxParts: 8, maxFiles: 1, maxFieldBytes: 64 * 1024, maxHeaderBytes: 8 * 1024, json: LIMITS };
  const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 13, 10, 45, 45]);

  /** What a browser sends for the desk's photo upload (FormData, as desk.js builds it). */
  async function form(demande: string, image?: Buffer): Promise<{ body: Buffer; type: string }> {
    const f = new FormData();
    f.append('demande', demande);
    if (image) f.append('image', new Blob([image], { type: 'image/png' }), 'attestation-guérin.png');
    const res = new Response(f);
    return { body: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type')! };
  }

  it('reads the desk upload as multer would: the "demande" field and the image file', async () => {
    const demande = JSON.stringify({ patient: DOSSIER.beneficiaire, sejour: { dateEntree: '2026-03-02', type: 'HOSPITALISATION' } });
    const { body, type } = await form(demande, PNG);
    const r = parseMultipart(body, type, MP);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.fields).toEqual({ demande });
    expect(r.files).toHaveLength(1);
    expect(r.files[0]).toMatchObject({
      fieldname: 'image',
      originalname: 'attestation-guérin.png',
      mimetype: 'image/png',
      size: PNG.length,
    });
    expect(r.files[0].buffer.equals(PNG)).toBe(true); // CRLF and "--" inside the file are kept
  });

  it('refuses a form cut short, a missing boundary, a part without a name, or a too-deep "demande"', async () => {
    const { body, type } = await form('{"patient":{}}', PNG);
    const code = (b: Buffer, t: string | undefined) => {
      const r = parseMultipart(b, t, MP);
      return r.ok ? 'OK' : r.refusal.code;
    };
    expect(code(body.subarray(0, body.length - 20), type)).toBe('MULTIPART_INVALIDE');
    expect(code(body, 'multipart/form-data')).toBe('MULTIPART_INVALIDE');
    expect(code(body, 'multipart/form-data; boundary=autre')).toBe('MULTIPART_INVALIDE');
    const b = '--XYZ\r\nContent-Type: text/plain\r\n\r\nsans nom\r\n--XYZ--\r\n';
    expect(code(Buffer.from(b), 'multipart/form-data; boundary=XYZ')).toBe('MULTIPART_INVALIDE');
    const proto = '--XYZ\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\n{}\r\n--XYZ--\r\n';
    expect(code(Buffer.from(proto), 'multipart/form-data; boundary=XYZ')).toBe('MULTIPART_INVALIDE');
    const deep = await form(nested(5000));
    expect(code(deep.body, deep.type)).toBe('JSON_TROP_PROFOND');
    const r = parseMultipart(body.subarray(0, 60), type, MP);
    expect(!r.ok && r.refusal.reason).toMatch(/mal formé/);
  });

  it('refuses more parts or files than allowed', () => {
    const parts =
      Array.from({ length: 9 }, (_, i) => `--B\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nx\r\n`).join('') + '--B--\r\n';
    expect(parseMultipart(Buffer.from(parts), 'multipart/form-data; boundary=B', MP)).toMatchObject({
      ok: false,
      refusal: { code: 'MULTIPART_INVALIDE' },
    });
    const files =
      [1, 2].map((i) => `--B\r\nContent-Disposition: form-data; name="image"; filename="p${i}.png"\r\n\r\nx\r\n`).join('') + '--B--\r\n';
    expect(parseMultipart(Buffer.from(files), 'multipart/form-data; boundary=B', MP)).toMatchObject({
      ok: false,
      refusal: { code: 'MULTIPART_INVALIDE' },
    });
  });

  it('reads the boundary from the Content-Type, quoted or not', () => {
    expect(multipartBoundary('multipart/form-data; boundary=----WebKitFormBoundaryAbc')).toBe('----WebKitFormBoundaryAbc');
    expect(multipartBoundary('multipart/form-data; boundary="a b"')).toBe('a b');
    expect(multipartBoundary('multipart/mixed; boundary=x')).toBeUndefined();
    expect(multipartBoundary(undefined)).toBeUndefined();
  });

  it('property: every cut of a valid form before its closing delimiter is refused, never thrown', async () => {
    const { body, type } = await form('{"patient":{"nom":"GUÉRIN"}}', PNG);
    const closing = body.lastIndexOf('--'); // the "--" that closes the body
    fc.assert(
      fc.property(fc.integer({ min: 0, max: closing + 1 }), (n) => {
        const r = parseMultipart(body.subarray(0, n), type, MP);
        expect(r.ok).toBe(false);
      }),
      FC,
    );
  });

  it('property: mutated forms and random bytes never throw; a form read holds at most the allowed parts', async () => {
    const { body, type } = await form('{"patient":{"nom":"GUÉRIN"}}', PNG);
    const mutated = fc
      .array(fc.tuple(fc.nat(body.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
      .map((muts) => {
        const b = Buffer.from(body);
        for (const [i, v] of muts) b[i] = v;
        return b;
      });
    fc.assert(
      fc.property(
        fc.oneof(
          mutated,
          fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u)),
        ),
        (b) => {
          const r = parseMultipart(b, type, MP);
          if (r.ok) {
            expect(r.files.length).toBeLessThanOrEqual(1);
            expect(Object.keys(r.fields).length).toBeLessThanOrEqual(8);
          } else expect(r.refusal.status).toBe(400);
        },
      ),
      { ...FC, numRuns: 1000 },
    );
  });
});
