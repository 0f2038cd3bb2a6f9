/**
 * Run the AMC miroir alone:
 *   node dist/simulator/main.js [--port 8443] [--host 127.0.0.1] [--latency instant|national|<ms>]
 *                               [--no-mtls] [--certs dir] [--hang-ms 30000] [--slow-ms 2000] [--quiet]
 * Ensures the development certificates exist, prints the URLs (never patient data), and stops
 * cleanly on SIGINT / SIGTERM.
 */
import { DEFAULT_CERT_DIR, ensureDevCerts } from './make-certs';
import { parseLatency } from './latency';
import { startSimulator } from './server';

const USAGE =
  'usage: node dist/simulator/main.js [--port 8443] [--host 127.0.0.1] [--latency instant|national|<ms>] [--no-mtls] [--certs dir] [--hang-ms ms] [--slow-ms ms] [--quiet]';

interface Args {
  port: number;
  host: string;
  latency: string;
  mtls: boolean;
  certs: string;
  hangMs?: number;
  slowMs?: number;
  quiet: boolean;
}

export function parseArgs(argv: string[]): Args {
  const a: Args = { port: 8443, host: '127.0.0.1', latency: 'instant', mtls: true, certs: DEFAULT_CERT_DIR, quiet: false };
  const value = (i: number, name: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
    return v;
  };
  const int = (v: string, name: string, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${name} must be an integer between 0 and ${max} (got "${v}")`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    switch (k) {
      case '--port':
        a.port = int(value(i++, k), k, 65535);
        break;
      case '--host':
        a.host = value(i++, k);
        break;
      case '--latency':
        a.latency = value(i++, k);
        parseLatency(a.latency);
        break;
      case '--no-mtls':
        a.mtls = false;
        break;
      case '--certs':
        a.certs = value(i++, k);
        break;
      case '--hang-ms':
        a.hangMs = int(value(i++, k), k, 3_600_000);
        break;
      case '--slow-ms':
        a.slowMs = int(value(i++, k), k, 3_600_000);
        break;
      case '--quiet':
        a.quiet = true;
        break;
      default:
        throw new Error(`unknown option ${k}`);
    }
  }
  return a;
}

async function main(): Promise<void> {
  let args: Args;
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  const certs = await ensureDevCerts(args.certs);
  const sim = await startSimulator({
    host: args.host,
    port: args.port,
    tls: { key: certs.serverKeyPem, cert: certs.serverCertPem, ca: certs.caCertPem, requestCert: args.mtls },
    latency: parseLatency(args.latency),
    hangMs: args.hangMs,
    slowMs: args.slowMs,
    log: args.quiet ? undefined : (line) => console.log(`${new Date().toISOString()} ${line}`),
  });
  console.log(`AMC miroir ready at ${sim.url} (${args.mtls ? 'mutual TLS' : 'TLS, no client certificate'}, latency ${args.latency})`);
  console.log(`  annuaire  ${sim.annuaireUrl}`);
  console.log(`  WSDL      ${sim.wsdlUrl}`);
  console.log(`  XSD       ${sim.xsdUrl}`);
  console.log(`  certs     ${certs.dir} (CA ca.crt; client client.crt/client.key or client.p12 + client.p12.pass)`);

  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${sig}: stopping the AMC miroir…`);
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`AMC miroir: ${(err as Error).message}`);
    process.exit(1);
  });
}
