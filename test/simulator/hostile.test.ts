/**
 * The test-only access points answer exactly the broken way they claim (found through the
 * directory like any AMC), and the "hanging" scenario holds its answer until the simulator closes.
 */
import { codec } from '../../lib/sel/codec';
import { SoapError } from '../../lib/sel/soap';
import type { RunningSimulator } from '../../simulator/server';
import { ben, Client, endpointOf, requestFor, SEED, startMtlsSimulator, type HttpResult } from './support';

let sim: RunningSimulator;
let client: Client;

beforeAll(async () => {
  sim = await startMtlsSimulator();
  client = new Client();
});

afterAll(async () => {
  client.destroy();
  await sim.close();
});

function amcOf(mode: string) {
  const a = SEED.amcs.find((x) => x.hostile === mode);
  if (!a) throw new Error(`no hostile AMC ${mode}`);
  return { numeroAmc: a.numeroAmc, typeConvention: 'MU' };
}

async function hit(mode: string, opts: { keepBody?: boolean } = {}): Promise<HttpResult> {
  const url = await endpointOf(client, sim, amcOf(mode), 'idb');
  expect(url).toBe(`${sim.url}/sel/test-${mode}/idb`);
  return client.request(url, { body: requestFor('idb', ben('B01')), ...opts });
}

function decodeError(body: string): SoapError {
  try {
    codec.decodeResponse('idb', body);
  } catch (e) {
    return e as SoapError;
  }
  throw new Error('the hostile answer decoded without error');
}

test('entities: a billion-laughs DOCTYPE, refused by the hardened parser', async () => {
  const r = await hit('entities');
  expect(r.status).toBe(200);
  expect(r.body).toContain('<!ENTITY lol9 "&lol8;&lol8;');
  expect(r.body).toContain('&lol9;');
  expect(decodeError(r.body).kind).toBe('dtd');
});

test('huge: a well-formed 50 MiB answer, streamed without Content-Length', async () => {
  const r = await hit('huge', { keepBody: false });
  expect(r.status).toBe(200);
  expect(r.headers['content-length']).toBeUndefined();
  expect(r.headers['transfer-encoding']).toBe('chunked');
  expect(r.bytes).toBeGreaterThanOrEqual(50 * 1024 * 1024);
  expect(r.bytes).toBeLessThan(50 * 1024 * 1024 + 1024);
  expect(r.body.endsWith('</roc:IdbReponse></soap:Body></soap:Envelope>')).toBe(true);
  expect(decodeError('x'.repeat(2 * 1024 * 1024)).kind).toBe('too-large');
});

test('wrong-namespace: a valid SOAP 1.2 envelope whose body is in another namespace', async () => {
  const r = await hit('wrong-namespace');
  expect(r.status).toBe(200);
  expect(r.body).toContain('<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">');
  expect(r.body).toContain('xmlns:roc="urn:autre-editeur:roc:2.0"');
  expect(decodeError(r.body).kind).toBe('namespace');
});

test('soap11: a SOAP 1.1 envelope as text/xml', async () => {
  const r = await hit('soap11');
  expect(r.headers['content-type']).toBe('text/xml; charset=utf-8');
  expect(r.body).toContain('http://schemas.xmlsoap.org/soap/envelope/');
  const e = decodeError(r.body);
  expect(e.kind).toBe('namespace');
  expect(e.message).toMatch(/SOAP 1\.1/);
});

test('html-500: an HTML error page with status 500', async () => {
  const r = await hit('html-500');
  expect(r.status).toBe(500);
  expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(r.body).toMatch(/^<!DOCTYPE html><html>/);
});

test('reset: headers and half a body, then the connection is destroyed', async () => {
  await expect(hit('reset')).rejects.toMatchObject({ code: 'ECONNRESET' });
});

test('truncated: a complete HTTP answer whose XML stops in the middle', async () => {
  const r = await hit('truncated');
  expect(r.status).toBe(200);
  expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
  expect(r.body.startsWith('<?xml version="1.0" encoding="UTF-8"?><soap:Envelope')).toBe(true);
  expect(r.body).not.toContain('</soap:Envelope>');
  expect(decodeError(r.body).kind).toBe('malformed');
});

test('fault: a SOAP 1.2 Receiver fault with status 500', async () => {
  const r = await hit('fault');
  expect(r.status).toBe(500);
  const e = decodeError(r.body);
  expect(e.kind).toBe('fault');
  expect(e.fault).toMatchObject({ code: 'soap:Receiver', reason: "Service momentanément indisponible (maintenance de l'organisme)" });
});

test('not-xml: status 200 with text/plain garbage', async () => {
  const r = await hit('not-xml');
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
  expect(decodeError(r.body)).toBeInstanceOf(SoapError);
});

test('every hostile access point serves the four services', async () => {
  for (const svc of ['sim', 'clc', 'del']) {
    const r = await client.request(`${sim.url}/sel/test-fault/${svc}`, { body: '<x/>' });
    expect(r.status).toBe(500);
  }
  expect(sim.stats().hostile).toBeGreaterThanOrEqual(12);
});

describe('hanging and slow services (B10 delai-depasse, B11 reponse-lente)', () => {
  async function waitFor(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise((r) => setImmediate(r));
  }

  test('B10: a client read timeout fires while the service hangs', async () => {
    const own = await startMtlsSimulator({ hangMs: 60_000 });
    const c = new Client();
    try {
      const b = ben('B10');
      const url = await endpointOf(c, own, b.amc, 'idb');
      await expect(c.soap(url, requestFor('idb', b), 200)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      expect(own.stats().idb).toBe(1);
    } finally {
      c.destroy();
      await own.close();
    }
  });

  test.each([
    ['B10', { hangMs: 60_000 }],
    ['B11', { slowMs: 60_000 }],
  ])('%s: the answer is held back, and closing the simulator releases the socket and its timer', async (id, delays) => {
    const own = await startMtlsSimulator(delays);
    const c = new Client();
    try {
      const b = ben(id);
      const url = await endpointOf(c, own, b.amc, 'idb');
      const pending = c.soap(url, requestFor('idb', b)).then(
        () => 'answered',
        (e: NodeJS.ErrnoException) => e.code ?? e.message,
      );
      await waitFor(() => own.stats().idb === 1);
      await own.close();
      expect(await pending).toBe('ECONNRESET');
    } finally {
      c.destroy();
      await own.close();
    }
  });

  test('B10 with a short hangMs: the late answer is the normal OK answer', async () => {
    const own = await startMtlsSimulator({ hangMs: 50 });
    const c = new Client();
    try {
      const b = ben('B10');
      const r = await c.soap(await endpointOf(c, own, b.amc, 'idb'), requestFor('idb', b));
      expect((codec.decodeResponse('idb', r.body) as { statut: string }).statut).toBe('OK');
    } finally {
      c.destroy();
      await own.close();
    }
  });
});
