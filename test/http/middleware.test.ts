/**
 * The HTTP guard as the runtime installs it (lib/http/middleware.ts), in front of a stand-in for
 * Node-RED's routes on a real HTTP server (127.0.0.1, ephemeral port): what each endpoint answers
 * to bodies too big, too deep or malformed, and what reaches the flow when the body is fine.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { createHttpGuard, describeError, errorResponse } from '../../lib/http/middleware';

interface Seen {
  path: string;
  body: unknown;
  files?: { fieldname: string; originalname: string; mimetype: string; size: number }[];
  parsed: boolean;
}

let server: http.Server;
let base: string;
const seen: Seen[] = [];

beforeAll(async () => {
  const guard = createHttpGuard({
    desk: { maxImageBytes: 64 * 1024 },
    roc: { json: { maxBytes: 32 * 1024 } },
    other: { maxBytes: '48kb' },
  });
  server = http.createServer((req, res) => {
    // installed twice, as settings.js does (httpAdminMiddleware then httpNodeMiddleware)
    guard(req, res, () =>
      guard(req, res, () => {
        const r = req as typeof req & { body?: unknown; files?: Seen['files']; _body?: boolean };
        const finish = () => {
          seen.push({ path: req.url!, body: r.body, files: r.files, parsed: !!r._body });
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: true }));
        };
        if (r._body || req.readableEnded) finish();
        else req.resume().on('end', finish); // a body left to Node-RED's parsers
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function post(path: string, body: string | Buffer | FormData, type?: string): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: type ? { 'content-type': type } : {},
    body: body as NonNullable<Parameters<typeof fetch>[1]>['body'],
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const NIR = '1850775123456';

describe('POST /desk/scan', () => {
  it('answers a 5,000-level nested array with 400 in the desk page shape', async () => {
    const n = seen.length;
    const r = await post('/desk/scan', deep(5000), 'application/json');
    expect(r.status).toBe(400);
    expect(r.json.guichet).toMatchObject({ verdict: 'LECTURE', code: 'JSON_TROP_PROFOND' });
    expect(r.json.guichet.motif).toMatch(/niveaux/);
    expect(seen.length).toBe(n); // never reached the flow
  });

  it('hands a valid scan request to the flow already parsed', async () => {
    const demande = { scan: 'DM-ROC…', patient: { nir: NIR, cleNir: '47' }, sejour: { dateEntree: '2026-03-02' } };
    const r = await post('/desk/scan', JSON.stringify(demande), 'application/json');
    expect(r.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ path: '/desk/scan', body: demande, parsed: true });
  });

  it('reads a photo upload into req.body / req.files as multer does, and refuses a malformed one as JSON 400', async () => {
    const f = new FormData();
    f.append('demande', JSON.stringify({ patient: { nom: 'GUÉRIN' } }));
    f.append(
      'image',
      new Blob([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x72, 0x65, 0x73, 0x74])], { type: 'image/png' }),
      'attestation.png',
    );
    expect((await post('/desk/scan', f)).status).toBe(200);
    expect(seen.at(-1)!.body).toEqual({ demande: '{"patient":{"nom":"GUÉRIN"}}' });
    expect(seen.at(-1)!.files).toMatchObject([{ fieldname: 'image', originalname: 'attestation.png', mimetype: 'image/png', size: 12 }]);

    const bad = await post(
      '/desk/scan',
      '--XYZ\r\nContent-Disposition: form-data; name="demande"\r\n\r\n{}\r\n--XY',
      'multipart/form-data; boundary=XYZ',
    );
    expect(bad.status).toBe(400);
    expect(bad.json.guichet).toMatchObject({ verdict: 'LECTURE', code: 'MULTIPART_INVALIDE' });
  });

  it('refuses an oversized image with 413 and the limit in French, and a body of unknown size with 411', async () => {
    const r = await post('/desk/scan', Buffer.alloc(400 * 1024), 'image/png');
    expect(r.status).toBe(413);
    expect(r.json.guichet).toMatchObject({ verdict: 'LECTURE', code: 'IMAGE_TROP_LOURDE' });
    expect(r.json.guichet.motif).toMatch(/au-delà de la limite de 64 Ko/);
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}/desk/scan`, { method: 'POST', headers: { 'content-type': 'text/plain' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write('DM');
      req.end('ROC');
    });
    expect(chunked).toBe(411);
  });

  it('refuses a body type the desk does not read with 415', async () => {
    const r = await post('/desk/scan', 'scan=ROC1', 'application/x-www-form-urlencoded');
    expect(r.status).toBe(415);
    expect(r.json.guichet).toMatchObject({ verdict: 'LECTURE', code: 'TYPE_NON_PRIS_EN_CHARGE' });
  });

  it('reads a bare text scan as a string and a bare photo as bytes', async () => {
    await post('/desk/scan', 'ROC1;0775685365', 'text/plain');
    expect(seen.at(-1)!.body).toBe('ROC1;0775685365');
    await post('/desk/scan', Buffer.from([0xff, 0xd8, 0xff]), 'image/jpeg');
    expect(Buffer.isBuffer(seen.at(-1)!.body)).toBe(true);
  });
});

describe('POST /roc/dossier and /roc/cancel', () => {
  it('answers too deep, too big or malformed JSON with a KO naming the reason, never echoing the body', async () => {
    const d = await post('/roc/dossier', deep(5000), 'application/json');
    expect(d.status).toBe(400);
    expect(d.json).toMatchObject({ status: 'KO', code: 'JSON_TROP_PROFOND' });
    const big = await post('/roc/cancel', JSON.stringify({ engagement: { numero: 'x'.repeat(40 * 1024) } }), 'application/json');
    expect(big.status).toBe(413);
    expect(big.json).toMatchObject({ status: 'KO', code: 'DEMANDE_TROP_LOURDE' });
    const bad = await post('/roc/dossier', `{"beneficiaire":{"nir":"${NIR}",`, 'application/json');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ status: 'KO', code: 'JSON_INVALIDE' });
    expect(bad.text).not.toContain(NIR);
  });

  it('refuses a non-JSON body over the size limit before any parser reads it', async () => {
    const r = await post('/roc/dossier', 'a=' + 'x'.repeat(40 * 1024), 'application/x-www-form-urlencoded');
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ status: 'KO', code: 'DEMANDE_TROP_LOURDE' });
  });
});

describe('every other request with a body (admin API, editor)', () => {
  it('refuses an urlencoded body over the limit as JSON { code, message }', async () => {
    const r = await post('/flows', 'a=' + 'x'.repeat(60 * 1024), 'application/x-www-form-urlencoded');
    expect(r.status).toBe(413);
    expect(r.json).toEqual({ code: 'DEMANDE_TROP_LOURDE', message: expect.stringMatching(/48 Ko/) });
  });

  it('lets a deep-enough flow through, refuses a 5,000-level one', async () => {
    const flows = [{ id: 'n1', type: 'inject', props: [{ p: 'payload', v: { a: { b: { c: [1, [2, [3]]] } } } }] }];
    expect((await post('/flows', JSON.stringify(flows), 'application/json')).status).toBe(200);
    expect(seen.at(-1)!.body).toEqual(flows);
    const r = await post('/flows', deep(5000), 'application/json');
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('JSON_TROP_PROFOND');
  });

  it('leaves bodiless requests and small urlencoded bodies to Node-RED', async () => {
    const r = await post('/auth/token', 'client_id=node-red-editor&grant_type=password&scope=*', 'application/x-www-form-urlencoded');
    expect(r.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ path: '/auth/token', parsed: false });
  });

  it('property: whatever bytes are posted to any endpoint, the answer is JSON (200 or 4xx), never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/desk/scan', '/roc/dossier', '/roc/cancel', '/flows'),
        fc.constantFrom(
          'application/json',
          'multipart/form-data; boundary=XYZ',
          'text/plain',
          'application/x-www-form-urlencoded',
          'image/png',
        ),
        fc.oneof(
          fc.uint8Array({ maxLength: 3000 }),
          fc.stringMatching(/^[[\]{}",:0-9a\\-]{0,2000}$/).map((s) => new TextEncoder().encode(s)),
        ),
        async (path, type, bytes) => {
          const r = await post(path, Buffer.from(bytes), type);
          expect(r.json).toBeDefined();
          expect([200, 400, 411, 413, 415]).toContain(r.status);
        },
      ),
      { seed: 20260307, numRuns: 150 },
    );
  }, 60000);
});

describe('errors raised after the guard, and log lines', () => {
  it('answers express/body-parser errors as JSON in the endpoint shape, without stack or path', () => {
    const tooBig = Object.assign(new Error('request entity too large at /work/node_modules/raw-body/index.js'), {
      status: 413,
      type: 'entity.too.large',
    });
    const a = errorResponse(tooBig, { url: '/flows' });
    expect(a).toEqual({ status: 413, body: { code: 'DEMANDE_TROP_LOURDE', message: expect.any(String) } });
    expect(JSON.stringify(a)).not.toMatch(/node_modules|\/work|at /);
    expect(errorResponse(tooBig, { url: '/roc/dossier' }).body).toMatchObject({ status: 'KO', code: 'DEMANDE_TROP_LOURDE' });
    expect(errorResponse(tooBig, { url: '/desk/scan' }).body).toMatchObject({ guichet: { verdict: 'LECTURE' } });
    const boom = errorResponse(new TypeError('Cannot read properties of undefined (reading "x") at /work/dist/x.js:1'), {
      url: '/desk/scan',
    });
    expect(boom.status).toBe(500);
    expect(boom.body).toMatchObject({ guichet: { verdict: 'TECHNIQUE', code: 'ERREUR_INTERNE' } });
    expect(JSON.stringify(boom)).not.toContain('/work');
  });

  it('describes an error for the log without quoted values, digit runs or the stack', () => {
    const e = new SyntaxError(`Unexpected token 'G', "GUÉRIN ${NIR}" is not valid JSON`);
    const line = describeError(e);
    expect(line).toMatch(/^SyntaxError: Unexpected token/);
    expect(line).not.toContain('GUÉRIN');
    expect(line).not.toContain(NIR);
    expect(line).not.toContain('at ');
    expect(describeError(Object.assign(new Error(`patient 1 85 07 75 123 456 refusé`), { code: 'ECONNRESET' }))).toBe(
      'Error [ECONNRESET]: patient … refusé',
    );
    expect(describeError('texte')).toBe('string: texte');
    expect(describeError(undefined)).toBe('undefined');
  });
});
