/**
 * The summary the dashboard polls, from a real journal: inbound counts, a held venue and its age,
 * answers queued and in error per destination, the last message per GAP connection, breakers and
 * certificates from the live nodes; and the alerts it raises. No patient data in it.
 */
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SqliteJournal } from '../../lib/store/sqlite';
import { buildSummary, alertInputs } from '../../lib/ops/summary';
import { OpsStats } from '../../lib/ops/stats';
import { AlertEngine } from '../../lib/ops/alerts';
import { adt } from '../store/fixtures';
import { expectNoPatientData, identifiersFromHl7 } from '../support/patient-data';

let dir: string;
let j: SqliteJournal;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roc-ops-sum-'));
  j = new SqliteJournal({ file: path.join(dir, 'j.db'), retentionDays: 0, purgeIntervalMs: 0, maxAttempts: 1 });
});
afterEach(async () => {
  await j.close();
  rmSync(dir, { recursive: true, force: true });
});

it('counts, queues, the oldest hold, the last message per connection; alerts raised from it', async () => {
  const now = Date.now();
  await j.append({ ...adt('SUM-0', '250100420'), receivedAt: new Date(now - 60 * 60_000) });
  const a = await j.append({ ...adt('SUM-1', '250100421'), receivedAt: new Date(now - 40 * 60_000) });
  await j.append({ ...adt('SUM-2', '250100422', { sender: 'HEXA' }), receivedAt: new Date(now - 2 * 60_000) });
  await j.start([a.id]);
  await j.fail(a.id, 'échec du traitement');
  const dest = 'mllp:127.0.0.1:2576';
  await j.enqueue({ destination: dest, payload: Buffer.from('A1'), orderingKey: 'PV1-19:250100430' });
  const e = await j.enqueue({ destination: dest, payload: Buffer.from('A2'), orderingKey: 'PV1-19:250100431' });
  await j.take(dest, 10);
  await j.sendFailed(e.id, 'ECONNREFUSED');
  const s = await buildSummary(
    j,
    {
      senders: [{ id: 'out1', destination: dest, connected: false }],
      establishments: [
        {
          id: 'etab',
          name: 'CHU Nord',
          breakers: [{ key: '0775685365', state: 'open', failures: 5, retryInMs: 12_400 }],
          certificate: { subject: 'CN=CHU Nord', notAfter: new Date(now + 12 * 86_400_000).toISOString(), daysLeft: 12, level: 'warning' },
        },
      ],
    },
    new OpsStats(),
    new Date(now),
  );
  expect(s.inbound).toMatchObject({ FAILED: 1, RECEIVED: 2 });
  expect(s.queues).toMatchObject({ held: 1, outboundQueued: 1, outboundError: 1, capped: false });
  expect(s.queues.heldOldestMinutes).toBeLessThanOrEqual(1);
  expect(s.breakers).toEqual([{ establishment: 'CHU Nord', amc: '0775685365', state: 'open', failures: 5, retryInS: 13 }]);
  expect(s.certificates).toEqual([expect.objectContaining({ establishment: 'CHU Nord', daysLeft: 12, level: 'warning' })]);
  expect(s.gap.map((g) => [g.connection, g.minutesAgo])).toEqual([
    ['mllp:2575 HEXA/CHU-NORD', 2],
    ['mllp:2575 CPAGE/CHU-NORD', 40],
  ]);
  let t = now;
  const engine = new AlertEngine(undefined, () => t);
  const names = (cs: ReturnType<AlertEngine['evaluate']>) => cs.map((c) => c.alert.rule + (c.alert.subject ? ` ${c.alert.subject}` : ''));
  expect(names(engine.evaluate(alertInputs(s)))).toEqual(['certificate-expiry', 'gap-silent mllp:2575 CPAGE/CHU-NORD']);
  t += 60_000; // the breaker still open a minute later: the AMC is unreachable
  expect(names(engine.evaluate(alertInputs(s)))).toEqual(['amc-unreachable 0775685365']);
  expect(engine.active()).toHaveLength(3);
  expectNoPatientData([JSON.stringify(s)], identifiersFromHl7(adt('X', '250100421').raw.toString('utf8')));
});
