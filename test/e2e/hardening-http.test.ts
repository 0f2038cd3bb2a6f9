/**
 * End to end, hostile HTTP: the findings of issue 7 replayed against the runtime started as
 * `npm start` starts it (compiled code, settings.js, the shipped flow, the embedded AMC simulator),
 * each getting a clear JSON answer while the runtime — and its MLLP intake — keeps serving.
 *
 * - a 5,000-level nested JSON array (10 KB) on /desk/scan and /roc/dossier: it used to overflow
 *   the stack in Node-RED's cloneMessage and kill the process (or leave the request unanswered);
 * - a malformed multipart upload: it used to get a plain-text 500;
 * - an urlencoded body over 5 MB: it used to get an HTML stack trace with server paths;
 * - `quantite: 1e9`: it used to be accepted, and the simulator engaged 3.45 trillion euros.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { startRuntimeProcess, type StartedRuntime } from '../support/runtime';
import { dossierFor } from '../support/dossiers';
import { frame, MllpDeframer } from '../../lib/hl7/mllp';
import { GapAnswerListener, readAck } from '../../simulator/gap';

jest.setTimeout(120000);

let rt: StartedRuntime;
let gap: GapAnswerListener;

beforeAll(async () => {
  gap = new GapAnswerListener(); // where the flow sends its answers to the GAP (never port 2576)
  const answers = await gap.start();
  rt = await startRuntimeProcess({ ROC_MLLP_PORT: '0', ROC_GAP_ANSWER_PORT: String(answers.port) }, 60000);
}, 90000);

afterAll(async () => {
  if (rt) await rt.stop();
  if (gap) await gap.stop();
});

/**
 * Every request of this file goes through here: the one place where credentials are added when
 * the runtime requires them.
 */
async function send(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer | FormData } = {},
): Promise<{ status: number; type: string; text: string; json: any }> {
  const res = await fetch(rt.url + path, {
    method: init.method ?? 'POST',
    headers: init.headers,
    body: init.body as NonNullable<Parameters<typeof fetch>[1]>['body'],
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json };
}

const asJson = (body: string) => ({ headers: { 'content-type': 'application/json' }, body });
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

function mllpPort(): number {
  const m = /GAP MLLP listener \(HL7 v2 PAM-FR\) on \S+:(\d+)/.exec(rt.output());
  if (!m) throw new Error(`no MLLP port printed:\n${rt.output()}`);
  return Number(m[1]);
}

/** One HL7 admission over MLLP; resolves with the ACK code. */
function admitOverMllp(controlId: string): Promise<string> {
  const msg = [
    `MSH|^~\\&|GAP|CHU-TEST|ROC|BRIDGE|20261120083000||ADT^A01^ADT_A01|${controlId}|P|2.5|||||FRA|UNICODE UTF-8`,
    'EVN|A01|20261120083000',
    'PID|1||IPP770012^^^CHU-TEST^PI||GUÉRIN^Hélène^^^^^L||19850714|F',
    'PV1|1|I|CARDIO^101^1||||||||||||||||NDA26000771^^^CHU-TEST^AN|||||||||||||||||||||||||20261120083000',
  ].join('\r');
  return new Promise((resolve, reject) => {
    const socket = net.connect(mllpPort(), '127.0.0.1');
    const deframer = new MllpDeframer();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no ACK within 20 s'));
    }, 20000);
    socket.on('data', (chunk) => {
      for (const ev of deframer.push(chunk)) {
        if (ev.kind !== 'frame') continue;
        clearTimeout(timer);
        socket.end();
        resolve(readAck(Buffer.from(ev.bytes))?.code ?? '?');
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.write(frame(Buffer.from(msg + '\r', 'utf8')));
  });
}

/** No stack frame, no server path, no HTML in an answer. */
function expectClean(text: string): void {
  expect(text).not.toMatch(/\bat \S+ \(|node_modules|\/work\/|\/home\/|\/usr\/|<html|<pre>|Error: /i);
}

describe('finding 1: a 10 KB request no longer kills the runtime', () => {
  it('answers a 5,000-level nested array on /desk/scan with 400 JSON, then still serves the desk and the MLLP intake', async () => {
    // as the scan (it used to reach roc-datamatrix, then overflow the stack: unanswered, process exit)
    for (const body of [`{"scan":${deep(5000)}}`, deep(5000)]) {
      const r = await send('desk/scan', asJson(body));
      expect(r.status).toBe(400);
      expect(r.type).toMatch(/application\/json/);
      expect(r.json.guichet).toMatchObject({ verdict: 'LECTURE', code: 'JSON_TROP_PROFOND' });
      expect(r.json.guichet.motif).toMatch(/niveaux/);
    }
    expect((await send('desk', { method: 'GET' })).status).toBe(200);
    expect(await admitOverMllp('HARD0001')).toBe('AA');
  });

  it('answers it on /roc/dossier too (bare, or inside a dossier whose AMC fails technically) with a KO, and keeps serving dossiers', async () => {
    for (const body of [deep(5000), `{"notes":${deep(5000)}}`]) {
      const r = await send('roc/dossier', asJson(body));
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ status: 'KO', code: 'JSON_TROP_PROFOND' });
    }
    // 'delai-depasse' (B10): the AMC times out, and the catch path clones the message
    const b10 = JSON.stringify(dossierFor('B10'));
    const inside = await send('roc/dossier', asJson(`${b10.slice(0, -1)},"notes":${deep(5000)}}`));
    expect(inside.status).toBe(400);
    expect(inside.json.code).toBe('JSON_TROP_PROFOND');
    const ok = await send('roc/dossier', asJson(JSON.stringify(dossierFor('B01'))));
    expect(ok.status).toBe(200);
    expect(ok.json.idb.status).toBe('OK');
    expect(await admitOverMllp('HARD0002')).toBe('AA');
  });

  it('refuses the deep array hidden in the "demande" field of a photo upload', async () => {
    const form = new FormData();
    form.append('demande', `{"patient":${deep(5000)}}`);
    form.append('image', new Blob([Buffer.from([0x89, 0x50, 0x4e, 0x47])], { type: 'image/png' }), 'attestation.png');
    const r = await send('desk/scan', { body: form });
    expect(r.status).toBe(400);
    expect(r.json.guichet.code).toBe('JSON_TROP_PROFOND');
  });
});

describe('an error nobody caught is logged without patient data and the process keeps running', () => {
  it('survives an uncaught exception and an unhandled rejection (bin/runtime.ts process guards)', async () => {
    const script = `
      const { installProcessGuards } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'bin', 'runtime.js'))});
      installProcessGuards();
      setTimeout(() => { throw new TypeError('NIR 1850775123456 de "GUÉRIN Hélène" illisible'); }, 10);
      setTimeout(() => Promise.reject(new RangeError('Maximum call stack size exceeded')), 20);
      setTimeout(() => { console.log('toujours en service'); }, 100);
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(out).toContain('toujours en service');
    expect(out).toMatch(/uncaught error, the runtime keeps running — TypeError: NIR … de "…" illisible/);
    expect(out).toMatch(/unhandled rejection, the runtime keeps running — RangeError: Maximum call stack size exceeded/);
    expect(out).not.toMatch(/1850775123456|GUÉRIN|\bat \S+ \(/);
  });
});

describe('finding 5: every error answer is JSON, without stack trace or path', () => {
  it('answers a malformed multipart upload with a JSON 400 in the desk shape', async () => {
    const body =
      '--XYZ\r\nContent-Disposition: form-data; name="demande"\r\n\r\n{"patient":{}}\r\n--XYZ\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n\x89PNG';
    const r = await send('desk/scan', { headers: { 'content-type': 'multipart/form-data; boundary=XYZ' }, body });
    expect(r.status).toBe(400);
    expect(r.json.guichet).toMatchObject({ verdict: 'LECTURE', code: 'MULTIPART_INVALIDE' });
    expect(r.json.guichet.motif).toMatch(/mal formé/);
    expectClean(r.text);
  });

  it('answers a 6 MB urlencoded body with JSON 413 on every endpoint, declared or chunked', async () => {
    const big = 'nir=1850775123456&x=' + 'A'.repeat(6 * 1024 * 1024);
    for (const path of ['roc/dossier', 'desk/scan', 'flows', 'auth/token', 'nulle-part']) {
      const r = await send(path, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: big });
      // the desk reads JSON, forms, text and images only: an urlencoded body is refused by its type
      expect(`${path} ${r.status}`).toBe(`${path} ${path === 'desk/scan' ? 415 : 413}`);
      expect(r.type).toMatch(/application\/json/);
      expectClean(r.text);
      expect(r.text).not.toContain('1850775123456');
    }
    // without Content-Length: Node-RED's parser stops it, the runtime's last error handler answers
    const chunked = await new Promise<{ status: number; text: string; type: string }>((resolve, reject) => {
      const req = http.request(
        `${rt.url}flows`,
        { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, text, type: String(res.headers['content-type']) }));
        },
      );
      req.on('error', reject);
      const chunk = 'A'.repeat(256 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 24) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      req.write('x=');
      pump();
    }).catch((err: NodeJS.ErrnoException) => ({ status: 0, text: String(err.code), type: '' }));
    if (chunked.status !== 0) {
      expect(chunked.status).toBe(413);
      expect(chunked.type).toMatch(/application\/json/);
      expectClean(chunked.text);
    } // (0: the server answered and closed while the client was still sending: no page either)
  });

  it('refuses quantite: 1e9 before any call, naming facture.lignes[0].quantite, and engages nothing', async () => {
    const d = dossierFor('B01', { facture: 'FAC-2026-HARD-1E9' });
    d.facture!.lignes[0].quantite = 1e9;
    const r = await send('roc/dossier', asJson(JSON.stringify(d)));
    expect(r.status).toBe(200);
    expect(r.json.idb.status).toBe('OK');
    const ko = r.json.sim ?? r.json.clc;
    expect(ko.status).toBe('KO');
    expect(JSON.stringify(ko.messages)).toContain('facture.lignes[0].quantite');
    expect(r.json.clc?.engagement).toBeUndefined();
  });

  it('kept running, and logged neither the bodies nor a stack trace', async () => {
    expect((await send('desk', { method: 'GET' })).status).toBe(200);
    expect(rt.proc.exitCode).toBeNull();
    const out = rt.output();
    expect(out).not.toContain('1850775123456');
    expect(out).not.toMatch(/RangeError|Maximum call stack/);
  });
});
