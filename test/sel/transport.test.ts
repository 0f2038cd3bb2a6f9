import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { SoapTransport, TransportError, postSoap, type PostOptions } from '../../lib/sel/transport';
import { codec } from '../../lib/sel/codec';
import { PROFILE } from '../../lib/sel/profile';
import { SoapError } from '../../lib/sel/soap';
import { faultReply, otherPki, pki, startFakeAmc, type FakeAmc } from './helpers';

const idbAction = PROFILE.operations.idb.action;
const request = codec.encodeRequest('idb', {
  enTete: {
    requestId: 'c0a80101-0000-4000-8000-000000000001',
    horodatage: '2026-03-02T08:41:07.512Z',
    versionProfil: PROFILE.version,
    finessJuridique: '750712184',
    finessGeographique: '750100042',
    logiciel: 'GAP Hexagone',
    versionLogiciel: '12.4.1',
    amc: { numeroAmc: '0775685365' },
  },
  beneficiaire: { nir: '2850375123456', dateNaissance: '1985-03-14', nom: 'Lefèvre-Dubois', prenom: 'Marie-Hélène' },
  venue: { type: 'HOSPITALISATION', dateEntree: '2026-03-02' },
});
const opts: PostOptions = { action: idbAction, connectTimeoutMs: 1500, readTimeoutMs: 1500, maxBytes: 1024 * 1024 };

async function failure(p: Promise<unknown>): Promise<TransportError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TransportError);
    return err as TransportError;
  }
  throw new Error('expected a TransportError');
}

function mutualTls() {
  const p = pki();
  return { pfx: Buffer.from(p.clientP12Base64, 'base64'), passphrase: p.p12Passphrase, ca: p.caCert };
}

describe('SOAP transport over HTTPS with mutual TLS', () => {
  let amc: FakeAmc;
  let transport: SoapTransport;
  beforeAll(async () => {
    amc = await startFakeAmc({ tls: 'mutual' });
  });
  afterAll(async () => {
    await amc.close();
  });
  beforeEach(() => {
    amc.behave(undefined);
    transport = new SoapTransport(mutualTls());
  });
  afterEach(() => transport.close());

  it('posts SOAP 1.2 with the action in the Content-Type and reuses the keep-alive connection', async () => {
    const before = amc.connections();
    const r1 = await transport.post(`${amc.base}/idb`, request, opts);
    const r2 = await transport.post(`${amc.base}/idb`, request, opts);
    expect(r1.status).toBe(200);
    expect(codec.decodeResponse('idb', r1.body).statut).toBe('OK');
    expect(r2.reusedSocket).toBe(true);
    expect(amc.connections() - before).toBe(1);
    expect(amc.received.at(-1)!.contentType).toBe(`application/soap+xml; charset=utf-8; action="${idbAction}"`);
  });

  it('handles requests queued for a busy keep-alive socket like the others (timeouts, listeners)', async () => {
    const one = new SoapTransport(mutualTls(), { maxSockets: 1 });
    try {
      const all = await Promise.all(Array.from({ length: 15 }, () => one.post(`${amc.base}/idb`, request, opts)));
      expect(all.every((r) => r.status === 200)).toBe(true);
      const socket = Object.values(one.httpsAgent.freeSockets).flat()[0]!;
      expect(socket.listenerCount('secureConnect')).toBe(0);
      // The second request waits for the socket of the first, then the AMC hangs: a read timeout.
      let k = 0;
      amc.behave(() => (++k === 2 ? { hang: true } : undefined));
      const [first, second] = await Promise.allSettled([
        one.post(`${amc.base}/idb`, request, { ...opts, connectTimeoutMs: 10_000, readTimeoutMs: 300 }),
        one.post(`${amc.base}/idb`, request, { ...opts, connectTimeoutMs: 10_000, readTimeoutMs: 300 }),
      ]);
      expect(first.status).toBe('fulfilled');
      expect(second.status === 'rejected' && (second.reason as TransportError).kind).toBe('timeout-read');
    } finally {
      one.close();
    }
  });

  it('times out reading when the AMC never answers', async () => {
    amc.behave(() => ({ hang: true }));
    const e = await failure(transport.post(`${amc.base}/idb`, request, { ...opts, readTimeoutMs: 300 }));
    expect(e.kind).toBe('timeout-read');
    expect(e.message).toBe('délai de réponse de 300 ms dépassé');
  });

  it('aborts a 50 MB answer as soon as the limit is crossed', async () => {
    amc.behave(() => ({ stream: 50 * 1024 * 1024 }));
    const e = await failure(transport.post(`${amc.base}/idb`, request, { ...opts, readTimeoutMs: 20_000 }));
    expect(e.kind).toBe('too-large');
    // The connection still works for the next call.
    amc.behave(undefined);
    expect((await transport.post(`${amc.base}/idb`, request, opts)).status).toBe(200);
  });

  it('refuses an answer whose announced length exceeds the limit without reading it', async () => {
    amc.behave(() => ({ raw: Buffer.alloc(4096, 0x20) }));
    const e = await failure(transport.post(`${amc.base}/idb`, request, { ...opts, maxBytes: 1000 }));
    expect(e.kind).toBe('too-large');
  });

  it('classifies an HTML error page as an HTTP error with a short sanitized excerpt', async () => {
    const html = `<!DOCTYPE html><html><head><style>body{color:red}</style><title>500</title></head><body><h1>Internal Server Error</h1><p>Tomcat/9.0.83 \u0007 ${'x'.repeat(500)}</p></body></html>`;
    amc.behave(() => ({ raw: html, status: 500, contentType: 'text/html; charset=utf-8' }));
    const e = await failure(transport.post(`${amc.base}/idb`, request, opts));
    expect(e.kind).toBe('http');
    expect(e.status).toBe(500);
    expect(e.excerpt).toMatch(/^500 Internal Server Error Tomcat\/9\.0\.83 x+…$/);
    expect(e.excerpt!.length).toBeLessThanOrEqual(160);
    expect(e.excerpt).not.toContain('<');
  });

  it('returns an HTTP 500 carrying a SOAP Fault so it surfaces as a SOAP Fault', async () => {
    amc.behave(() => faultReply('Base des contrats indisponible'));
    const r = await transport.post(`${amc.base}/idb`, request, opts);
    expect(r.status).toBe(500);
    let err: unknown;
    try {
      codec.decodeResponse('idb', r.body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SoapError);
    expect((err as SoapError).kind).toBe('fault');
  });

  it('classifies a connection cut by the server as a reset', async () => {
    amc.behave(() => ({ reset: true }));
    const e = await failure(transport.post(`${amc.base}/idb`, request, opts));
    expect(e.kind).toBe('reset');
  });

  it('fails TLS when the server certificate is signed by an unknown CA', async () => {
    const other = otherPki();
    // PEM client certificate: with a PKCS#12, Node also trusts the CA certificates inside it.
    const t = new SoapTransport({ cert: pki().clientCert, key: pki().clientKey, ca: other.caCert });
    try {
      const e = await failure(t.post(`${amc.base}/idb`, request, opts));
      expect(e.kind).toBe('tls');
      expect(e.message).toContain('échec TLS');
    } finally {
      t.close();
    }
  });

  it('fails TLS when the client presents no certificate', async () => {
    const t = new SoapTransport({ ca: pki().caCert });
    try {
      const e = await failure(t.post(`${amc.base}/idb`, request, opts));
      expect(e.kind).toBe('tls');
    } finally {
      t.close();
    }
  });

  it('reports a client certificate refused after the handshake as a cut connection, naming the certificate as a possible cause', async () => {
    // A Node server checks the client certificate after the TLS 1.3 handshake and drops the
    // connection without an alert: from the client it is a reset, with a hint in the message.
    const other = otherPki();
    const t = new SoapTransport({ cert: other.clientCert, key: other.clientKey, ca: pki().caCert });
    try {
      const e = await failure(t.post(`${amc.base}/idb`, request, opts));
      expect(e.kind).toBe('reset');
      expect(e.message).toContain('certificat client refusé');
    } finally {
      t.close();
    }
  });
});

describe('SOAP transport failures before any answer', () => {
  it('times out connecting when the peer accepts TCP but never completes TLS', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      sockets.add(s); // accept, read nothing, say nothing
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const t = new SoapTransport({ ca: pki().caCert });
    try {
      const e = await failure(t.post(`https://127.0.0.1:${port}/idb`, request, { ...opts, connectTimeoutMs: 300 }));
      expect(e.kind).toBe('timeout-connect');
      expect(e.message).toBe(`connexion TLS non établie en 300 ms avec 127.0.0.1:${port}`);
    } finally {
      t.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('classifies a closed port as refused', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const e = await failure(postSoap(`https://127.0.0.1:${port}/idb`, request, opts));
    expect(e.kind).toBe('refused');
    expect(e.message).toBe(`connexion refusée par 127.0.0.1:${port}`);
  });

  it('refuses a URL that is not http(s)', async () => {
    expect((await failure(postSoap('ftp://amc.example/idb', request, opts))).kind).toBe('bad-url');
    expect((await failure(postSoap('pas une url', request, opts))).kind).toBe('bad-url');
  });

  it('works over plain HTTP too (lab set-ups)', async () => {
    const amc = await startFakeAmc({ tls: false });
    const t = new SoapTransport();
    try {
      const r = await t.post(`${amc.base}/idb`, request, opts);
      expect(codec.decodeResponse('idb', r.body).statut).toBe('OK');
    } finally {
      t.close();
      await amc.close();
    }
  });

  it('close() destroys the pooled keep-alive sockets', async () => {
    const amc = await startFakeAmc({ tls: 'mutual' });
    const t = new SoapTransport(mutualTls());
    try {
      await t.post(`${amc.base}/idb`, request, opts);
      const free = Object.values(t.httpsAgent.freeSockets).flat();
      expect(free).toHaveLength(1);
      t.close();
      expect(free[0]!.destroyed).toBe(true);
    } finally {
      await amc.close();
    }
  });
});
