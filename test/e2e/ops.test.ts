/**
 * End to end, issue 11 (dashboard, message browser, alerts) with `npm start`:
 * - every /roc/ops endpoint as anonymous, viewer, operator and admin (401 / 403 audited / allowed;
 *   unmask for an admin only, audited);
 * - the GAP simulator streams a day; the summary's counters move; no NIR, name, birth date or IPP
 *   in any page or JSON unless an admin unmasks;
 * - headless Chromium: an operator logs in, sees the dashboard's counters move, finds a message
 *   by its venue in the browser, opens it and resends it; screenshots in $ROC_OPS_SHOTS (default
 *   a temp dir).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startRuntimeProcess, type StartedRuntime, type TestRole } from '../support/runtime';
import { launchChromium } from '../support/browser';
import { GapAnswerListener, GapSimulator } from '../../simulator/gap';
import { encodeGapMessage, gapDay, type GapMessage } from '../../simulator/gap-day';
import { decodeFrame } from '../../lib/hl7/charset';
import { expectNoPatientData, identifiersFromHl7, mergeIdentifiers, type PatientIdentifiers } from '../support/patient-data';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { ensureDevCerts } from '../../simulator/make-certs';

jest.setTimeout(240000);

interface AuditLine {
  event: string;
  user: string;
  outcome: string;
  status?: number;
  target?: Record<string, string>;
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 90000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

let rt: StartedRuntime;
let answers: GapAnswerListener;
/** The AMC simulator, in this process: each answer it gives is counted (op, request id). */
let amc: RunningSimulator;
const amcAnswers: Array<{ op?: string; requestId?: string }> = [];
let certDir: string;
let mllpPort: number;
let browser: Browser | undefined;
let ids: PatientIdentifiers;
const shots = process.env.ROC_OPS_SHOTS || fs.mkdtempSync(path.join(os.tmpdir(), 'roc-ops-shots-'));
const seen: string[] = [];

async function call(role: TestRole | 'anonymous', method: 'GET' | 'POST', p: string): Promise<{ status: number; json: any; text: string }> {
  const headers = role === 'anonymous' ? {} : await rt.headers(role);
  const res = await fetch(rt.url + p.replace(/^\//, ''), { method, headers });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

async function stream(messages: GapMessage[]): Promise<void> {
  const sim = new GapSimulator({ port: mllpPort, connections: 2, window: 4 });
  const stats = await sim.run(messages);
  expect(stats.unmatchedAcks).toBe(0);
}

const auditOf = (): AuditLine[] =>
  fs
    .readFileSync(path.join(rt.userDir, 'roc-audit.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditLine);

beforeAll(async () => {
  answers = new GapAnswerListener();
  const { port } = await answers.start();
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-ops-certs-'));
  const certs = await ensureDevCerts(certDir);
  amc = await startSimulator({
    host: '127.0.0.1',
    tls: { key: certs.serverKeyPem, cert: certs.serverCertPem, ca: certs.caCertPem, requestCert: true },
    onAnswer: (a) => amcAnswers.push({ op: a.op, requestId: a.requestId }),
  });
  rt = await startRuntimeProcess(
    {
      ROC_MLLP_PORT: '0',
      ROC_GAP_ANSWER_PORT: String(port),
      ROC_OPS_POLL_MS: '1000',
      ROC_ANNUAIRE_URL: amc.annuaireUrl,
      ROC_CLIENT_CERT: certs.clientCert,
      ROC_CLIENT_KEY: certs.clientKey,
      ROC_CA: certs.caCert,
    },
    60000,
  );
  mllpPort = Number(/GAP MLLP listener \(HL7 v2 PAM-FR\) on \S+:(\d+)/.exec(rt.output())![1]);
});

afterAll(async () => {
  if (browser) await browser.close();
  if (rt) await rt.stop();
  if (answers) await answers.stop();
  if (amc) await amc.close();
  if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  // nothing any role saw (but the admin's unmasked answer) names a patient; the process log neither
  if (ids) {
    expectNoPatientData(seen, ids);
  }
});

describe('the operations endpoints and page', () => {
  const first = [...gapDay({ messages: 60, venues: 8, seed: 71, controlIdPrefix: 'OPS1-', venueOffset: 710 })];
  const second = [...gapDay({ messages: 40, venues: 6, seed: 72, controlIdPrefix: 'OPS2-', venueOffset: 720 })];

  it('anonymous, viewer, operator and admin on every endpoint; counters move as the GAP streams', async () => {
    ids = mergeIdentifiers(...[...first, ...second].map((m) => identifiersFromHl7(decodeFrame(encodeGapMessage(m)).text)));
    await stream(first);
    const done = await until('the first day processed', async () => {
      const r = await call('viewer', 'GET', '/roc/ops/summary');
      return (
        r.status === 200 && r.json.inbound.DONE + r.json.inbound.IGNORED >= first.length - 5 && r.json.stats.totals.count > 0 && r.json
      );
    });
    expect(done.dossiers).toEqual(expect.any(Object));
    expect(Object.keys(done.stats.services)).toContain('IDB');
    expect(done.gap.length).toBeGreaterThan(0);
    // the active alert rules (the defaults here) travel with the summary
    expect(done.alerts.rulesFrom).toEqual(['défauts']);
    expect(done.alerts.rules.map((r: { id: string }) => r.id)).toContain('ko-rate');

    // the page: static, no data in it, for anyone
    for (const role of ['anonymous', 'viewer'] as const) {
      const page = await call(role, 'GET', '/roc/ops/');
      expect(page.status).toBe(200);
      expect(page.text).toContain('<title>ROC Bridge — exploitation</title>');
    }
    // the charting library, from node_modules (no CDN): static too, for anyone
    for (const role of ['anonymous', 'viewer', 'operator', 'admin'] as const) {
      const js = await call(role, 'GET', '/roc/ops/vendor/uPlot.iife.min.js');
      expect([role, js.status, js.text.slice(0, 200)]).toEqual([role, 200, expect.stringContaining('uPlot')]);
      expect((await call(role, 'GET', '/roc/ops/vendor/uPlot.min.css')).status).toBe(200);
    }

    const list = await call('viewer', 'GET', '/roc/ops/messages?limit=100');
    expect(list.status).toBe(200);
    const target = list.json.items.find(
      (m: { event?: string; venueSource?: string; state: string }) => m.event === 'ADT^A01' && m.state === 'DONE',
    );
    expect(target).toBeDefined();
    const byVenue = await call('viewer', 'GET', `/roc/ops/messages?venue=${target.venue}`);
    expect(byVenue.json.items.map((m: { id: number }) => m.id)).toContain(target.id);

    const readPaths = [
      '/roc/ops/summary',
      '/roc/ops/messages?limit=20',
      `/roc/ops/messages/${target.id}`,
      `/roc/ops/messages?venue=${target.venue}&state=DONE`,
    ];
    for (const p of readPaths) {
      expect((await call('anonymous', 'GET', p)).status).toBe(401);
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const r = await call(role, 'GET', p);
        expect([p, role, r.status]).toEqual([p, role, 200]);
        seen.push(r.text);
      }
    }
    const detail = await call('viewer', 'GET', `/roc/ops/messages/${target.id}`);
    expect(detail.json).toMatchObject({ masque: true, message: { id: target.id }, raw: expect.stringMatching(/^MSH/) });
    expect(detail.json.admission.patient).toEqual(expect.any(Object));
    expect(detail.json.answers.length + detail.json.exchanges.length).toBeGreaterThan(0);

    // unmask: an admin only, audited both ways
    expect((await call('viewer', 'GET', `/roc/ops/messages/${target.id}?unmask=1`)).status).toBe(403);
    expect((await call('operator', 'GET', `/roc/ops/messages/${target.id}?unmask=1`)).status).toBe(403);
    const clear = await call('admin', 'GET', `/roc/ops/messages/${target.id}?unmask=1`);
    expect(clear.status).toBe(200);
    expect(clear.json.masque).toBe(false);
    expect(() => expectNoPatientData([clear.text], ids)).toThrow(/patient data/);

    // resend: an operator acts, a viewer is refused and audited
    expect((await call('anonymous', 'POST', `/roc/ops/messages/${target.id}/resend`)).status).toBe(401);
    expect((await call('viewer', 'POST', `/roc/ops/messages/${target.id}/resend`)).status).toBe(403);
    const resent = await call('operator', 'POST', `/roc/ops/messages/${target.id}/resend`);
    expect(resent.status).toBe(202);
    expect(resent.json).toMatchObject({ resent: target.id, state: 'RECEIVED' });
    await until('the resent message processed', async () => {
      const r = await call('viewer', 'GET', `/roc/ops/messages/${resent.json.id}`);
      return r.json?.message?.state === 'DONE';
    });
    const admin = await call('admin', 'POST', `/roc/ops/messages/${target.id}/resend`);
    expect(admin.status).toBe(202);
    expect((await call('operator', 'POST', '/roc/ops/messages/99999999/resend')).status).toBe(404);
    expect((await call('viewer', 'GET', '/roc/ops/messages?state=PERDU')).status).toBe(400);

    // resend from a chosen stage: the admission into the dossier engine, a service asked again, the
    // answer to the GAP; anonymous 401, viewer 403 (audited), operator and admin 202
    const stage = (q: string) => `/roc/ops/messages/${target.id}/resend?${q}`;
    for (const q of ['stage=admission', 'stage=service&service=idb', `stage=answer&answer=${detail.json.answers[0]?.id ?? 1}`]) {
      expect([q, (await call('anonymous', 'POST', stage(q))).status]).toEqual([q, 401]);
      expect([q, (await call('viewer', 'POST', stage(q))).status]).toEqual([q, 403]);
    }
    for (const role of ['operator', 'admin'] as const) {
      const r = await call(role, 'POST', stage('stage=admission'));
      expect([role, r.status, r.json]).toEqual([role, 202, expect.objectContaining({ stage: 'admission', dossier: expect.any(String) })]);
    }
    // a service stage: the dossier asks IDB again, and the AMC simulator gets exactly one new request.
    // A dossier whose AMC the directory knows as a ROC AMC (an IDB the AMC answered, not the
    // directory's BR-NOT-ROC): otherwise the request stops at the directory, rightly.
    let viaAmc: number | undefined;
    for (const m of list.json.items.filter((x: { event?: string; state: string }) => x.event === 'ADT^A01' && x.state === 'DONE')) {
      const d = await call('viewer', 'GET', `/roc/ops/messages/${m.id}`);
      const idb = (d.json.dossier?.chronologie ?? []).filter(
        (c: { kind: string; service?: string }) => c.kind === 'ECHANGE' && c.service === 'idb',
      );
      if (idb.length && idb.every((c: { code?: string }) => !String(c.code ?? '').startsWith('BR-'))) {
        viaAmc = m.id;
        break;
      }
    }
    expect(viaAmc).toBeDefined();
    const idbAsks = () => amcAnswers.filter((a) => a.op === 'idb');
    for (const role of ['operator', 'admin'] as const) {
      await new Promise((r) => setTimeout(r, 1500)); // the admission replays settle
      const before = idbAsks().length;
      const known = new Set(idbAsks().map((a) => a.requestId));
      const r = await call(role, 'POST', `/roc/ops/messages/${viaAmc}/resend?stage=service&service=idb`);
      expect([role, r.status]).toEqual([role, 202]);
      expect(r.json).toMatchObject({ stage: 'service', service: 'idb', memeRequete: false });
      await until('the AMC asked IDB again', async () => idbAsks().length > before);
      await new Promise((res) => setTimeout(res, 1500));
      const fresh = idbAsks().slice(before);
      expect(fresh).toHaveLength(1);
      expect(known.has(fresh[0].requestId)).toBe(false);
    }
    // the answer to the GAP: an acknowledged answer goes again as a copy, and the GAP receives it
    // (a message of the day whose answer the GAP acknowledged)
    const acked = await until('an acknowledged answer', async () => {
      for (const m of list.json.items.slice(0, 30)) {
        const d = await call('viewer', 'GET', `/roc/ops/messages/${m.id}`);
        const a = (d.json.answers ?? []).find((x: { state: string }) => x.state === 'ACKED');
        if (a) return { message: m.id as number, id: a.id as number };
      }
      return undefined;
    });
    // the copy carries the same bytes (same MSH-10): an MSH-10 the GAP had, received once more
    const timesSeen = () => {
      const n = new Map<string, number>();
      for (const r of answers.received) n.set(r.controlId, (n.get(r.controlId) ?? 0) + 1);
      return n;
    };
    const seenBefore = timesSeen();
    const again = await call('operator', 'POST', `/roc/ops/messages/${acked.message}/resend?stage=answer&answer=${acked.id}`);
    expect([again.status, again.json]).toEqual([202, expect.objectContaining({ stage: 'answer', answer: acked.id, state: 'QUEUED' })]);
    expect(again.json.id).not.toBe(acked.id);
    await until('the GAP received the answer again', async () =>
      [...timesSeen()].some(([id, n]) => (seenBefore.get(id) ?? 0) >= 1 && n > seenBefore.get(id)!),
    );
    for (const [q, status] of [
      ['stage=perdu', 400],
      ['stage=service&service=xyz', 400],
      ['stage=answer&answer=abc', 400],
      ['stage=answer&answer=99999999', 404],
      ['stage=service&service=del', 409],
    ] as const) {
      const r = await call('operator', 'POST', stage(q));
      expect([q, r.status]).toEqual([q, status]);
      seen.push(r.text);
    }

    const audit = auditOf();
    const ev = (e: string, user: string, outcome: string) => audit.some((a) => a.event === e && a.user === user && a.outcome === outcome);
    const staged = (st: string, user: string, outcome: string) =>
      audit.some((a) => a.event === 'message.resend' && a.user === user && a.outcome === outcome && a.target?.stage === st);
    expect(staged('service', 'lecteur', 'denied')).toBe(true);
    expect(staged('service', 'operateur', 'ok')).toBe(true);
    expect(staged('answer', 'operateur', 'ok')).toBe(true);
    expect(staged('admission', 'admin', 'ok')).toBe(true);
    expect(ev('message.resend', 'lecteur', 'denied')).toBe(true);
    expect(ev('message.resend', 'operateur', 'ok')).toBe(true);
    expect(ev('unmask', 'lecteur', 'denied')).toBe(true);
    expect(ev('unmask', 'admin', 'ok')).toBe(true);
    seen.push(fs.readFileSync(path.join(rt.userDir, 'roc-audit.log'), 'utf8'));
    seen.push(rt.output());
  });

  it('in Chromium an operator logs in, sees the counters move, finds a message and resends it', async () => {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(rt.url + 'roc/ops/');
    await page.fill('#login-utilisateur', 'operateur');
    await page.fill('#login-mot', 'e2e-Operateur-Mot-de-passe');
    await page.click('#form-connexion button[type=submit]');
    const card = page.locator('[data-carte="messages-recus"] .valeur');
    await card.waitFor().catch(async (e: Error) => {
      const shown = await page.textContent('#maj-erreur').catch(() => null);
      throw new Error(`${e.message}; errors on the page: ${pageErrors.join(' | ') || 'none'}; shown: ${shown ?? ''}`);
    });
    await until('the counter shown', async () => Number(await card.textContent()) > 0);
    const before = Number(await card.textContent());
    // the held venues (GET /roc/journal/held) are listed with their release buttons: none here
    await until('the held venues listed', async () => /Aucune venue suspendue/.test((await page.textContent('#table-suspendues')) ?? ''));
    // the charts are drawn by uPlot (served from node_modules), the active alert rules listed
    await page.locator('#graphe-debit .uplot canvas').waitFor();
    await page.locator('#graphe-dossiers .uplot canvas').waitFor();
    await page.locator('#table-regles tr[data-regle="ko-rate"]').waitFor();
    await page.screenshot({ path: path.join(shots, 'ops-dashboard-1.png'), fullPage: true });
    seen.push(await page.content());

    await stream(second);
    await until('the counter moved', async () => Number(await card.textContent()) >= before + second.length);
    await page.waitForTimeout(3500); // one more poll: the charts carry the second batch
    await page.screenshot({ path: path.join(shots, 'ops-dashboard-2.png'), fullPage: true });
    seen.push(await page.content());

    // the browser: find a venue of the second batch, open its admission, resend it
    const venue = second.find((m) => m.event === 'A01')!.venue;
    await page.click('#onglet-messages');
    await page.fill('input[name=venue]', venue);
    await page.click('#form-recherche button[type=submit]');
    const row = page.locator('#table-messages tbody tr').first();
    await row.waitFor();
    await row.click();
    await page.locator('#detail-titre').waitFor();
    await until('the detail', async () => /Message \d+/.test((await page.textContent('#detail-titre')) ?? ''));
    expect(await page.textContent('#detail-titre')).toContain('masquées');
    expect(await page.textContent('#detail-brut')).toContain(`|${venue}^`);
    await page.click('#renvoyer');
    await until('resent', async () => /Renvoyé : nouveau message \d+/.test((await page.textContent('#action-etat')) ?? ''));
    // resend from a stage: the dossier asks a service again (the button of one of its exchanges)
    const asks = amcAnswers.length;
    const again = page.locator('#detail-dossier button[data-etape^="service-"]').first();
    await again.waitFor();
    await again.click();
    await until('resent from a stage', async () =>
      /Renvoyé depuis l’étape : \w+ redemandé/.test((await page.textContent('#action-etat')) ?? ''),
    );
    await until('the AMC asked again', async () => amcAnswers.length > asks);
    await page.click('#renvoyer-admission');
    await until('the admission replayed', async () => /admission rejouée/.test((await page.textContent('#action-etat')) ?? ''));
    // an operator may not unmask
    await page.click('#demasquer');
    await until('refused', async () => /admin/.test((await page.textContent('#action-etat')) ?? ''));
    await page.screenshot({ path: path.join(shots, 'ops-messages.png'), fullPage: true });
    seen.push(await page.content());

    expect(pageErrors).toEqual([]);

    // a viewer sees the same, masked, and is refused the resend
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const viewer = await context.newPage();
    await viewer.goto(rt.url + 'roc/ops/');
    await viewer.fill('#login-utilisateur', 'lecteur');
    await viewer.fill('#login-mot', 'e2e-Lecteur-Mot-de-passe');
    await viewer.click('#form-connexion button[type=submit]');
    await viewer.locator('[data-carte="messages-recus"] .valeur').waitFor();
    await viewer.click('#onglet-messages');
    await viewer.fill('input[name=venue]', venue);
    await viewer.click('#form-recherche button[type=submit]');
    await viewer.locator('#table-messages tbody tr').first().click();
    await until('the detail', async () => /masquées/.test((await viewer.textContent('#detail-titre')) ?? ''));
    await viewer.click('#renvoyer');
    await until('refused', async () =>
      /Refusé : action réservée aux rôles operator et admin/.test((await viewer.textContent('#action-etat')) ?? ''),
    );
    seen.push(await viewer.content());
    await context.close();
  });
});
