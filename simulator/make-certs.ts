/**
 * Development PKI on disk: `node dist/simulator/make-certs.js [dir] [--force]` writes a test CA,
 * a server certificate for the AMC miroir and a client certificate for the bridge (PEM and
 * PKCS#12 + its passphrase) into `dir` (default `.roc-dev/certs`), only when they are absent
 * (or expired). `--force` regenerates them. The runtime calls `ensureDevCerts(dir)`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateTestPki } from '../lib/security/pki';
import { certificateStatus } from '../lib/security/tls';

export const DEFAULT_CERT_DIR = path.join('.roc-dev', 'certs');

export interface DevCerts {
  dir: string;
  /** Paths. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  clientP12: string;
  clientP12Pass: string;
  /** Contents. */
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  clientP12Base64: string;
  p12Passphrase: string;
  /** True when this call (re)generated the files. */
  generated: boolean;
}

const FILES = {
  caCert: 'ca.crt',
  serverCert: 'server.crt',
  serverKey: 'server.key',
  clientCert: 'client.crt',
  clientKey: 'client.key',
  clientP12: 'client.p12',
  clientP12Pass: 'client.p12.pass',
} as const;

function paths(dir: string) {
  const out = {} as Record<keyof typeof FILES, string>;
  for (const [k, f] of Object.entries(FILES)) out[k as keyof typeof FILES] = path.join(dir, f);
  return out;
}

function usable(p: Record<keyof typeof FILES, string>): boolean {
  if (!Object.values(p).every((f) => fs.existsSync(f))) return false;
  try {
    for (const c of [p.serverCert, p.clientCert, p.caCert]) {
      if (certificateStatus({ certPem: fs.readFileSync(c, 'utf8') }).level === 'expired') return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Make sure a development PKI exists in `dir` (created when absent or expired, or when `force`). */
export async function ensureDevCerts(dir: string = DEFAULT_CERT_DIR, opts: { force?: boolean } = {}): Promise<DevCerts> {
  const abs = path.resolve(dir);
  const p = paths(abs);
  let generated = false;
  if (opts.force || !usable(p)) {
    fs.mkdirSync(abs, { recursive: true, mode: 0o700 });
    const pki = generateTestPki();
    const write = (file: string, data: string | Buffer, secret: boolean) => fs.writeFileSync(file, data, { mode: secret ? 0o600 : 0o644 });
    write(p.caCert, pki.caCert, false);
    write(p.serverCert, pki.serverCert, false);
    write(p.serverKey, pki.serverKey, true);
    write(p.clientCert, pki.clientCert, false);
    write(p.clientKey, pki.clientKey, true);
    write(p.clientP12, Buffer.from(pki.clientP12Base64, 'base64'), true);
    write(p.clientP12Pass, pki.p12Passphrase + '\n', true);
    generated = true;
  }
  const read = (f: string) => fs.readFileSync(f, 'utf8');
  return {
    dir: abs,
    ...p,
    caCertPem: read(p.caCert),
    serverCertPem: read(p.serverCert),
    serverKeyPem: read(p.serverKey),
    clientCertPem: read(p.clientCert),
    clientKeyPem: read(p.clientKey),
    clientP12Base64: fs.readFileSync(p.clientP12).toString('base64'),
    p12Passphrase: read(p.clientP12Pass).trim(),
    generated,
  };
}

async function main(argv: string[]): Promise<number> {
  const force = argv.includes('--force');
  const unknown = argv.filter((a) => a.startsWith('-') && a !== '--force');
  if (unknown.length || argv.includes('--help')) {
    console.log('usage: node dist/simulator/make-certs.js [dir] [--force]   (default dir: .roc-dev/certs)');
    return unknown.length && !argv.includes('--help') ? 2 : 0;
  }
  const dir = argv.find((a) => !a.startsWith('-')) ?? DEFAULT_CERT_DIR;
  const c = await ensureDevCerts(dir, { force });
  console.log(`${c.generated ? 'Generated' : 'Kept existing'} development certificates in ${c.dir}`);
  for (const k of Object.keys(FILES) as (keyof typeof FILES)[]) console.log(`  ${k.padEnd(14)} ${c[k]}`);
  console.log('These are TEST certificates (self-made CA): never use them in production.');
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`make-certs: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
