/**
 * The development PKI on disk (ensureDevCerts / make-certs) and the stand-alone simulator CLI
 * (dist/simulator/main.js, built by the test global setup), started and stopped like an operator would.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { generateTestPki } from '../../lib/security/pki';
import { ensureDevCerts } from '../../simulator/make-certs';
import { parseArgs } from '../../simulator/main';
import { annuaireRequest, SEED } from './support';

const ROOT = path.resolve(__dirname, '..', '..');
let tmp: string;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-certs-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('ensureDevCerts', () => {
  test('writes the PKI once, keys readable by the owner only, then keeps it; --force regenerates', async () => {
    const dir = path.join(tmp, 'certs');
    const first = await ensureDevCerts(dir);
    expect(first.generated).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual([
      'ca.crt',
      'client.crt',
      'client.key',
      'client.p12',
      'client.p12.pass',
      'server.crt',
      'server.key',
    ]);
    for (const f of ['server.key', 'client.key', 'client.p12', 'client.p12.pass']) {
      expect(fs.statSync(path.join(dir, f)).mode & 0o077).toBe(0);
    }
    expect(first.clientCert).toBe(path.join(dir, 'client.crt'));
    expect(first.serverCertPem).toContain('-----BEGIN CERTIFICATE-----');

    const second = await ensureDevCerts(dir);
    expect(second.generated).toBe(false);
    expect(second.caCertPem).toBe(first.caCertPem);

    const forced = await ensureDevCerts(dir, { force: true });
    expect(forced.generated).toBe(true);
    expect(forced.caCertPem).not.toBe(first.caCertPem);
  });

  test('an expired or missing file makes it regenerate', async () => {
    const dir = path.join(tmp, 'certs');
    const first = await ensureDevCerts(dir);
    fs.writeFileSync(first.clientCert, generateTestPki({ clientNotAfter: new Date(Date.now() - 86_400_000) }).clientCert);
    expect((await ensureDevCerts(dir)).generated).toBe(true);
    fs.rmSync(path.join(dir, 'client.p12.pass'));
    expect((await ensureDevCerts(dir)).generated).toBe(true);
  });
});

describe('simulator CLI', () => {
  test('options are checked with clear errors', () => {
    expect(parseArgs(['--port', '9443', '--latency', 'national', '--no-mtls'])).toMatchObject({
      port: 9443,
      latency: 'national',
      mtls: false,
    });
    expect(() => parseArgs(['--port', 'abc'])).toThrow('--port must be an integer between 0 and 65535 (got "abc")');
    expect(() => parseArgs(['--latency', 'fast'])).toThrow(/latency must be instant, national or a number/);
    expect(() => parseArgs(['--certs'])).toThrow('--certs needs a value');
    expect(() => parseArgs(['--verbose'])).toThrow('unknown option --verbose');
  });

  test('main.js starts with mutual TLS, prints its URLs and no patient data, and stops on SIGTERM', async () => {
    const certs = path.join(tmp, 'certs');
    const proc = spawn(process.execPath, [path.join(ROOT, 'dist', 'simulator', 'main.js'), '--port', '0', '--certs', certs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const check = () => {
          const m = /AMC miroir ready at (https:\/\/127\.0\.0\.1:\d+)[^]*certs /.exec(out);
          if (m) resolve(m[1]);
        };
        proc.stdout.on('data', check);
        exited.then((code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
      expect(out).toContain(`annuaire  ${url}/annuaire`);
      expect(out).toContain(`WSDL      ${url}/sel?wsdl`);

      const read = (f: string) => fs.readFileSync(path.join(certs, f));
      const status = await new Promise<number>((resolve, reject) => {
        const req = https.request(
          `${url}/annuaire`,
          {
            method: 'POST',
            ca: read('ca.crt'),
            pfx: read('client.p12'),
            passphrase: read('client.p12.pass').toString().trim(),
            agent: false,
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(annuaireRequest('0775685365', 'MU'));
      });
      expect(status).toBe(200);
      while (!/POST \/annuaire 200 annuaire OK 0000/.test(out)) await new Promise((r) => setTimeout(r, 10));
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(out).toContain('SIGTERM: stopping the AMC miroir');
    for (const b of SEED.beneficiaires) expect(out).not.toContain(b.nir);
  });

  test('a bad option exits with status 2 and the usage', async () => {
    const proc = spawn(process.execPath, [path.join(ROOT, 'dist', 'simulator', 'main.js'), '--latency', 'fast'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    proc.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toMatch(/latency must be instant, national or a number of milliseconds \(got "fast"\)\nusage:/);
  });
});
