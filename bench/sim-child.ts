/**
 * The AMC simulator in its own process, for benchmarks: prints `READY {url, annuaireUrl, certs}`
 * once listening and, with --trace, one line `T <requestId> <ms>` per SEL answer giving the time
 * the simulator held the request (its latency mode included), so a benchmark can subtract it.
 */
import { ensureDevCerts } from '../simulator/make-certs';
import { startSimulator, type LatencyMode } from '../simulator/server';

async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const l = arg('--latency') ?? 'instant';
  const latency: LatencyMode =
    l === 'instant' ? { mode: 'instant' } : l === 'national' ? { mode: 'national' } : { mode: 'fixed', ms: Number(l) };
  const certs = await ensureDevCerts(arg('--certs') ?? '.roc-dev/bench-certs');
  const trace = process.argv.includes('--trace');
  const sim = await startSimulator({
    tls: { key: certs.serverKeyPem, cert: certs.serverCertPem, ca: certs.caCertPem, requestCert: true },
    latency,
    onAnswer: trace ? (a) => a.requestId && process.stdout.write(`T ${a.requestId} ${a.ms.toFixed(3)}\n`) : undefined,
  });
  process.stdout.write(
    `READY ${JSON.stringify({ url: sim.url, annuaireUrl: sim.annuaireUrl, certs: { clientCert: certs.clientCert, clientKey: certs.clientKey, caCert: certs.caCert } })}\n`,
  );
  const stop = () => sim.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
