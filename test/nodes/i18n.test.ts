/**
 * Status and log texts through Node-RED's i18n (RED._): every node's message catalog has the same
 * keys in English (en-US) and French (fr), every key the nodes use exists in both, no status or
 * log text is written in clear in the code, and a node of each family speaks the runtime's
 * language: English under `lang: 'en-US'`, French under `lang: 'fr'`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import idbNode from '../../nodes/roc-idb/roc-idb';
import establishmentNode from '../../nodes/roc-establishment/roc-establishment';
import mllpInNode from '../../nodes/roc-mllp-in/roc-mllp-in';
import mllpOutNode from '../../nodes/roc-mllp-out/roc-mllp-out';
import hprimNode from '../../nodes/roc-hprim-in/roc-hprim-in';
import datamatrixNode from '../../nodes/roc-datamatrix/roc-datamatrix';
import admissionNode from '../../nodes/roc-hl7-admission/roc-hl7-admission';
import { statusFor } from '../../nodes/common/service-node';
import type { ServiceResult } from '../../lib/model/dossier';
import { cardText, findBeneficiary } from '../../simulator/cards';
import { loadSeed } from '../../simulator/seed';
import { catalog, catalogTypes, inLanguage, translator } from '../support/i18n';
import { watchNodeRed } from '../support/patient-data';

helper.init(require.resolve('node-red'));
const seen = watchNodeRed(helper);

const NODES_DIR = path.join(__dirname, '..', '..', 'nodes');
const LANGS = ['en-US', 'fr'] as const;
const SERVICE_TYPES = ['roc-annuaire', 'roc-idb', 'roc-sim', 'roc-clc', 'roc-del'];

/** `a.b.c` → text, for every leaf of a catalog. */
function flatten(o: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object') for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
    else out.set(key, String(v));
  }
  return out;
}
const placeholders = (s: string) => [...s.matchAll(/__(\w+?)__/g)].map((m) => m[1]).sort();

function sourceFiles(dir = NODES_DIR): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'locales' ? [] : sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('message catalogs', () => {
  const types = catalogTypes();

  it('every node with a catalog has it in both languages', () => {
    expect(types).toEqual(
      expect.arrayContaining([
        ...SERVICE_TYPES,
        'roc-establishment',
        'roc-mllp-in',
        'roc-mllp-out',
        'roc-hprim-in',
        'roc-datamatrix',
        'roc-hl7-admission',
      ]),
    );
    for (const type of types) expect(fs.existsSync(path.join(NODES_DIR, type, 'locales', 'fr', `${type}.json`))).toBe(true);
  });

  it.each(types)('%s: the same keys in en-US and fr, with the same placeholders', (type) => {
    const en = flatten(catalog(type, 'en-US'));
    const fr = flatten(catalog(type, 'fr'));
    expect([...fr.keys()].sort()).toEqual([...en.keys()].sort());
    for (const [k, v] of en) expect([k, placeholders(fr.get(k)!)]).toEqual([k, placeholders(v)]);
  });

  it('every RED._ key used in nodes/ exists in both languages', () => {
    const keys = Object.fromEntries(LANGS.map((l) => [l, new Set(types.flatMap((t) => [...flatten(catalog(t, l)).keys()]))]));
    const used: string[] = [];
    for (const file of sourceFiles()) {
      const src = fs.readFileSync(file, 'utf8');
      for (const m of src.matchAll(/RED\._\(\s*(?:'([^']+)'|`([^`]+)`)/g)) {
        const key = m[1] ?? m[2];
        // A service node's key is `${type}.…`: each of the five service types must have it.
        const expanded = key.startsWith('${type}.') ? SERVICE_TYPES.map((t) => t + key.slice('${type}'.length)) : [key];
        for (const k of expanded) {
          used.push(k);
          if (!k.includes('${')) {
            for (const l of LANGS) expect([l, k, keys[l].has(k)]).toEqual([l, k, true]);
            continue;
          }
          // a key chosen at run time (`status.${verdict}`): at least one key of that shape
          const re = new RegExp(
            '^' +
              k
                .split(/\$\{[^}]+\}/)
                .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
                .join('[^.]+') +
              '$',
          );
          for (const l of LANGS) expect([l, k, [...keys[l]].some((x) => re.test(x))]).toEqual([l, k, true]);
        }
      }
      // a ternary choosing between two keys
      for (const m of src.matchAll(/RED\._\([^,()]*\?\s*'([^']+)'\s*:\s*'([^']+)'/g))
        for (const k of [m[1], m[2]]) for (const l of LANGS) expect([l, k, keys[l].has(k)]).toEqual([l, k, true]);
    }
    expect(used.length).toBeGreaterThan(60);
  });

  it('no status or log text is written in clear in nodes/ (they go through RED._)', () => {
    const offending: string[] = [];
    for (const file of sourceFiles()) {
      fs.readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const m = /\btext:\s*(['"`])|\b(?:node|this)\.(?:log|warn|error)\(\s*(['"`])/.exec(line);
          if (!m) return;
          // a template that only puts translated parts together (`${text()} · ${RED._(…)}`) is fine
          let rest = line.slice(m.index + m[0].length);
          if ((m[1] ?? m[2]) === '`') {
            rest = rest.slice(0, rest.search(/`(?![^{]*\})/) + 1 || undefined);
            while (/\{[^{}]*\}/.test(rest)) rest = rest.replace(/\{[^{}]*\}/g, '');
            if (!/\p{L}/u.test(rest.replace(/\$/g, ''))) return;
          }
          offending.push(`${path.relative(NODES_DIR, file)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offending).toEqual([]);
  });
});

describe("Node-RED's runtime i18n (@node-red/util) reads the catalogs", () => {
  // The runtime's own translator, as a node gets it: `<module>/<type>:` + the key.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { i18n } = require('@node-red/util');
  const NS = 'node-red-contrib-roc-bridge/roc-idb';
  const key = `${NS}:roc-idb.status.koTechnical`;

  it('lang fr (and fr-FR) → French; en-US → English', async () => {
    i18n.init({ lang: 'fr' });
    await i18n.registerMessageCatalog(NS, path.join(NODES_DIR, 'roc-idb', 'locales'), 'roc-idb.json');
    expect(i18n._(key, { code: 'BR-TLS', ms: 3005 })).toBe('KO technique BR-TLS · 3005 ms');
    await i18n.i.changeLanguage('fr-FR');
    expect(i18n._(key, { code: 'BR-TLS', ms: 3005 })).toBe('KO technique BR-TLS · 3005 ms');
    await i18n.i.changeLanguage('en-US');
    expect(i18n._(key, { code: 'BR-TLS', ms: 3005 })).toBe('technical KO BR-TLS · 3005 ms');
    // what an OS locale Node-RED cannot read (LANG=C.UTF-8 gives "C.") falls back to
    await i18n.i.changeLanguage('C.');
    expect(i18n._(key, { code: 'BR-TLS', ms: 3005 })).toBe('technical KO BR-TLS · 3005 ms');
  });
});

// ---- one node of each family, in each language -------------------------------------------------

const EXPECTED = {
  'en-US': {
    ok: 'OK · 12 ms',
    technical: 'technical KO BR-TLS · 3005 ms · cert D-12',
    noEstablishment: 'establishment not configured',
    mllpInStarting: 'starting…',
    mllpOutInvalid: 'invalid GAP host or port',
    mllpOutLog: /^roc-mllp-out: the host and port \(1-65535\) of the GAP's MLLP receiver are required$/,
    hprimWatching: 'watching…',
    hprimCounts: '0 processed · 0 in error',
    datamatrixRefused: 'refused SCAN_INCOMPLET',
    admissionNoPayload: 'msg.payload missing',
    admissionError: /roc-hl7-admission: msg\.payload must hold the HL7 message/,
  },
  fr: {
    ok: 'OK · 12 ms',
    technical: 'KO technique BR-TLS · 3005 ms · cert J-12',
    noEstablishment: 'établissement non configuré',
    mllpInStarting: 'démarrage…',
    mllpOutInvalid: 'hôte ou port du GAP invalide',
    mllpOutLog: /^roc-mllp-out : hôte et port \(1-65535\) du récepteur MLLP du GAP requis$/,
    hprimWatching: 'surveillance…',
    hprimCounts: '0 traité(s) · 0 en erreur',
    datamatrixRefused: 'refus SCAN_INCOMPLET',
    admissionNoPayload: 'msg.payload absent',
    admissionError: /roc-hl7-admission : msg\.payload doit contenir le message HL7/,
  },
} as const;

async function eventually<T>(f: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-i18n-'));
  seen.clear();
});
afterEach(async () => {
  await helper.unload();
  fs.rmSync(dir, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js');
const tab = { id: 't', type: 'tab', label: 'i18n' };
const texts = (id: string) => seen.statuses(id).map((s) => s.text);

describe.each(LANGS)('under the runtime language %s', (lang) => {
  const want = EXPECTED[lang];

  it('service node (roc-idb): the call outcome and the idle status', async () => {
    const RED = { _: translator(lang) };
    const result = (status: 'OK' | 'KO', technical: boolean, latencyMs: number, code?: string) =>
      ({ status, technical, latencyMs, messages: code ? [{ code, libelle: '' }] : [] }) as unknown as ServiceResult;
    expect(statusFor(RED as never, 'roc-idb', result('OK', false, 12.3)).text).toBe(want.ok);
    expect(statusFor(RED as never, 'roc-idb', result('KO', true, 3004.6, 'BR-TLS'), { level: 'warning', daysLeft: 12 } as never).text).toBe(
      want.technical,
    );

    await helper.load(
      [inLanguage(lang, establishmentNode), inLanguage(lang, idbNode)],
      [tab, { id: 'svc', z: 't', type: 'roc-idb', establishment: 'nowhere', wires: [[], []] }],
    );
    expect(texts('svc')).toContain(want.noEstablishment);
  });

  it('mllp-in: starting', async () => {
    await helper.load(
      [inLanguage(lang, mllpInNode)],
      [
        tab,
        {
          id: 'in',
          z: 't',
          type: 'roc-mllp-in',
          host: '127.0.0.1',
          port: '0',
          journal: path.join(dir, 'journal.sqlite'),
          synchronous: 'NORMAL',
          wires: [[]],
        },
      ],
    );
    expect(texts('in')[0]).toBe(want.mllpInStarting);
    // then the listening status (port, connections, rate: the same words in both languages)
    await eventually(() => texts('in').find((t) => /^:\d+ · 0 conn\. · 0 msg\/s$/.test(t ?? '')), 'the listening status');
  });

  it('mllp-out: an invalid GAP address, in the status and the log', async () => {
    await helper.load(
      [inLanguage(lang, mllpOutNode)],
      [
        tab,
        { id: 'out', z: 't', type: 'roc-mllp-out', host: '127.0.0.1', port: '0', dbPath: path.join(dir, 'out.sqlite'), wires: [[], []] },
      ],
    );
    expect(texts('out')).toEqual([want.mllpOutInvalid]);
    const logged = seen.texts().filter((t) => t.startsWith('roc-mllp-out'));
    expect(logged.some((t) => want.mllpOutLog.test(t))).toBe(true);
  });

  it('hprim-in: watching, then the counts', async () => {
    fs.mkdirSync(path.join(dir, 'in'));
    await helper.load(
      [inLanguage(lang, hprimNode)],
      [tab, { id: 'h', z: 't', type: 'roc-hprim-in', inputDir: path.join(dir, 'in'), interval: 0.05, wires: [[]] }],
    );
    expect(texts('h')[0]).toBe(want.hprimWatching);
    await eventually(() => texts('h').includes(want.hprimCounts), 'the counts');
  });

  it('datamatrix: a refused scan', async () => {
    const b01 = findBeneficiary(loadSeed().seed, 'B01')!;
    await helper.load(
      [inLanguage(lang, datamatrixNode)],
      [tab, { id: 'dm', z: 't', type: 'roc-datamatrix', wires: [[], ['ko']] }, { id: 'ko', z: 't', type: 'helper' }],
    );
    const refused = new Promise((r) => helper.getNode('ko').on('input', r));
    helper.getNode('dm').receive({ payload: cardText(b01).slice(0, 25) });
    await refused;
    expect(texts('dm').at(-1)).toBe(want.datamatrixRefused);
  });

  it('hl7-admission: no message, in the status and the error a catch node gets', async () => {
    await helper.load(
      [inLanguage(lang, admissionNode), catchNode],
      [
        tab,
        { id: 'adm', z: 't', type: 'roc-hl7-admission', wires: [[], [], [], [], [], []] },
        { id: 'c', z: 't', type: 'catch', scope: ['adm'], wires: [['caught']] },
        { id: 'caught', z: 't', type: 'helper' },
      ],
    );
    const caught = new Promise<{ error: { message: string } }>((r) => helper.getNode('caught').on('input', r));
    helper.getNode('adm').receive({ payload: '' });
    expect((await caught).error.message).toMatch(want.admissionError);
    expect(texts('adm').at(-1)).toBe(want.admissionNoPayload);
  });
});
