/**
 * The one shared assertion: no patient identifier of the input (NIR with or without its key,
 * names, birth date in any of the formats it travels in, IPP) appears in what the test saw — node
 * status texts, node.log/warn/error, the runtime log (helper.log()), errors passed to done(), the
 * stdout/stderr of a runtime process, ERR segments of ACKs…
 *
 *   const seen = watchNodeRed(helper);                 // once per file, after helper.init()
 *   …
 *   expectNoPatientData(seen, identifiersFromHl7(text)); // at the end of a test that sent patient data
 *
 *   expectNoPatientData({ texts: [rt.output()] }, identifiersOf({ nir: '285075935012324', names: ['MARTIN'] }));
 *
 * The message objects a node sends on (msg.roc, msg.payload) legitimately carry patient data and
 * are never collected: only what a person watching the editor, the log or the GAP ACK would read.
 */
import type { AdmissionPatient } from '../../lib/hl7/types';

export interface PatientIdentifiers {
  /** NIRs: 15 characters (with the key) and 13 (without), Corsica 2A/2B included. */
  nirs: string[];
  /** Family, birth and given names (compared case- and accent-insensitively, whole words). */
  names: string[];
  /** Every written form of each birth date: YYYYMMDD, YYYY-MM-DD, DD/MM/YYYY. */
  birthDates: string[];
  /** Patient numbers of the hospital (IPP), compared as whole numbers. */
  ipps: string[];
}

export interface IdentifierInput {
  nir?: string | string[];
  names?: string[];
  /** YYYYMMDD, YYYYMMDD[HHMM…], YYYY-MM-DD or DD/MM/YYYY. */
  birthDates?: string[];
  ipps?: string[];
}

/** The three written forms of a date given in any of them (undefined when not a date). */
export function dateForms(d: string): string[] {
  let y: string, m: string, day: string;
  let r: RegExpExecArray | null;
  if ((r = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(d.trim()))) [, y, m, day] = r;
  else if ((r = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(d.trim()))) [, day, m, y] = r;
  else return [];
  return [`${y}${m}${day}`, `${y}-${m}-${day}`, `${day}/${m}/${y}`];
}

const uniq = (a: string[]) => [...new Set(a.filter((s) => s.length > 0))];

/** Expands what a test knows about its patients into every form that must not leak. */
export function identifiersOf(...inputs: IdentifierInput[]): PatientIdentifiers {
  const nirs: string[] = [];
  const names: string[] = [];
  const birthDates: string[] = [];
  const ipps: string[] = [];
  for (const i of inputs) {
    for (const n of ([] as string[]).concat(i.nir ?? [])) {
      const c = n.replace(/[\s.]/g, '').toUpperCase();
      if (!c) continue;
      nirs.push(c);
      if (c.length === 15) nirs.push(c.slice(0, 13));
    }
    for (const n of i.names ?? []) for (const w of n.split(/[\s^,]+/)) if (w.trim().length >= 3) names.push(w.trim());
    for (const d of i.birthDates ?? []) birthDates.push(...dateForms(d));
    for (const p of i.ipps ?? []) if (p.trim()) ipps.push(p.trim());
  }
  return { nirs: uniq(nirs), names: uniq(names), birthDates: uniq(birthDates), ipps: uniq(ipps) };
}

/** Merges several identifier sets (several patients in one test). */
export function mergeIdentifiers(...sets: PatientIdentifiers[]): PatientIdentifiers {
  return {
    nirs: uniq(sets.flatMap((s) => s.nirs)),
    names: uniq(sets.flatMap((s) => s.names)),
    birthDates: uniq(sets.flatMap((s) => s.birthDates)),
    ipps: uniq(sets.flatMap((s) => s.ipps)),
  };
}

/**
 * The patient identifiers of an HL7 v2 (ER7) message, every PID it holds: PID-3 (IPP: type PI;
 * NIR / INS-NIR: NH, INS, INS-NIR), PID-5 and PID-6 names, PID-7 birth date; IN1-16 names,
 * IN1-49 / IN2-1 / IN2-8 NIRs.
 */
export function identifiersFromHl7(text: string): PatientIdentifiers {
  const segments = text.split(/\r\n|\r|\n/).filter(Boolean);
  const msh = segments.find((s) => s.startsWith('MSH'));
  const fs = msh ? msh[3] : '|';
  const enc = msh ? msh.slice(4, 8) : '^~\\&';
  const [cs, rs] = [enc[0] ?? '^', enc[1] ?? '~'];
  const input: Required<IdentifierInput> = { nir: [], names: [], birthDates: [], ipps: [] };
  const reps = (f: string | undefined) => (f ?? '').split(rs).filter(Boolean);
  const comps = (r: string) => r.split(cs);
  const isNir = (v: string) => /^[12378]\d{4}(\d{2}|2[AB])\d{6}(\d{2})?$/i.test(v);
  for (const s of segments) {
    const f = s.split(fs);
    switch (f[0]) {
      case 'PID':
        for (const r of reps(f[3])) {
          const [value, , , , type] = comps(r);
          if (!value) continue;
          if (type === 'PI') (input.ipps as string[]).push(value);
          else if (isNir(value)) (input.nir as string[]).push(value);
        }
        for (const field of [f[5], f[6]]) for (const r of reps(field)) input.names.push(...comps(r).slice(0, 3).filter(Boolean));
        if (f[7]) input.birthDates.push(comps(f[7])[0]);
        break;
      case 'IN1':
        for (const r of reps(f[16])) input.names.push(...comps(r).slice(0, 2).filter(Boolean));
        if (f[49] && isNir(comps(f[49])[0])) (input.nir as string[]).push(comps(f[49])[0]);
        break;
      case 'IN2':
        for (const i of [1, 8]) if (f[i] && isNir(comps(f[i])[0])) (input.nir as string[]).push(comps(f[i])[0]);
        break;
    }
  }
  return identifiersOf(input);
}

/** The patient identifiers of parsed admissions (lib/hl7 or lib/hprim readers: HL7, HPRIM Santé, HPRIM XML). */
export function identifiersFromAdmissions(admissions: ReadonlyArray<{ patient: AdmissionPatient }>): PatientIdentifiers {
  return mergeIdentifiers(
    ...admissions.map(({ patient: p }) =>
      identifiersOf({
        nir: [p.nir?.value, p.ins?.value, ...p.identifiers.filter((i) => i.type !== 'PI').map((i) => i.value)].filter(
          (v): v is string => typeof v === 'string' && /^[12378]\d{4}(\d{2}|2[AB])\d{6}(\d{2})?$/i.test(v),
        ),
        names: [p.nom, p.prenom, p.nomNaissance, p.premierPrenom, p.prenoms].filter((x): x is string => typeof x === 'string'),
        birthDates: p.dateNaissance ? [p.dateNaissance] : [],
        ipps: p.ipp?.value ? [p.ipp.value] : [],
      }),
    ),
  );
}

/** The patient identifiers of a ROC dossier (msg.roc): beneficiary NIR + key, names, birth date. */
export function identifiersFromDossier(roc: { beneficiaire?: object } | undefined): PatientIdentifiers {
  const b = (roc?.beneficiaire ?? {}) as Record<string, string | undefined>;
  const nir = b.nir ? [b.nir + (b.cleNir ?? ''), b.nir] : [];
  return identifiersOf({
    nir,
    names: [b.nom, b.prenom, b.nomNaissance].filter((x): x is string => typeof x === 'string'),
    birthDates: b.dateNaissance ? [b.dateNaissance] : [],
  });
}

// ------------------------------------------------------------------------------------------------
// What a test saw

/** Anything that can list the texts a test saw. */
export interface Seen {
  texts: string[] | (() => string[]);
}

function textOf(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  // errors from another realm (a function node's vm) are not `instanceof Error`
  if (v instanceof Error || (typeof v === 'object' && typeof (v as Error).message === 'string' && typeof (v as Error).stack === 'string')) {
    return `${(v as Error).name}: ${(v as Error).message}`;
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    // a node status, a RED.log record
    if ('text' in o && Object.keys(o).every((k) => ['fill', 'shape', 'text'].includes(k))) return textOf(o.text);
    if ('msg' in o && 'level' in o) return textOf(o.msg);
    try {
      return JSON.stringify(v);
    } catch {
      return String(v);
    }
  }
  return String(v);
}

export interface NodeRedWatch {
  /** Every text seen so far (status texts, node logs, runtime log records). */
  texts(): string[];
  /** The status objects node `id` showed, in order. */
  statuses(id: string): Array<{ fill?: string; shape?: string; text?: string }>;
  clear(): void;
  restore(): void;
}

/**
 * Records, from now on, every status text, node.log/warn/error/debug/trace first argument (the
 * error or text, not the message object), and every record of the runtime log (RED.log, what
 * helper.log() spies on; errors passed to done() arrive there and through node.error). Call once
 * per test file after helper.init(); the wrappers outlive helper.unload() (the helper's own spies
 * wrap them), `restore()` removes them. `clear()` forgets what was seen (beforeEach).
 */
export function watchNodeRed(helper: any): NodeRedWatch {
  const seen: Array<{ node?: string; kind: string; text: string; raw: unknown }> = [];
  const proto = helper._NodePrototype;
  const log = helper._log;
  if (!proto || !log) throw new Error('watchNodeRed: call helper.init() first');
  const restores: Array<() => void> = [];
  const wrap = (obj: any, name: string, kind: string) => {
    const original = obj[name];
    obj[name] = function (this: { id?: string } | undefined, ...args: unknown[]) {
      seen.push({ node: obj === proto ? this?.id : undefined, kind, text: textOf(args[0]), raw: args[0] });
      return original.apply(this, args);
    };
    restores.push(() => (obj[name] = original));
  };
  for (const m of ['status', 'log', 'warn', 'error', 'debug', 'trace']) wrap(proto, m, m === 'status' ? 'status' : 'node.' + m);
  wrap(log, 'log', 'RED.log');
  for (const level of ['info', 'warn', 'error', 'debug', 'trace', 'audit'])
    if (typeof log[level] === 'function') wrap(log, level, 'RED.log.' + level);
  const restore = () => restores.splice(0).forEach((r) => r());
  if (typeof afterAll === 'function') afterAll(restore);
  return {
    texts: () => seen.map((s) => s.text),
    statuses: (id) =>
      seen
        .filter((s) => s.kind === 'status' && s.node === id)
        .map((s) => (typeof s.raw === 'string' ? { text: s.raw } : ((s.raw ?? {}) as { fill?: string; shape?: string; text?: string }))),
    clear: () => void seen.splice(0),
    restore,
  };
}

/** What an end-to-end runtime process printed (stdout and stderr). */
export function processOutput(rt: { output: () => string }): Seen {
  return { texts: () => [rt.output()] };
}

const fold = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/Œ/g, 'OE')
    .replace(/œ/g, 'oe')
    .replace(/Æ/g, 'AE')
    .replace(/æ/g, 'ae')
    .toLowerCase();
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The leaks found in the texts: `[kind, identifier, the text (cut around it)]`. */
export function findPatientData(texts: string[], ids: PatientIdentifiers): Array<[string, string, string]> {
  const found: Array<[string, string, string]> = [];
  const around = (t: string, i: number) => t.slice(Math.max(0, i - 60), i + 80);
  for (const t of texts) {
    if (!t) continue;
    const compact = t.replace(/(?<=[0-9AB]) (?=[0-9AB])|(?<=[0-9])[.](?=[0-9])/gi, '');
    for (const n of ids.nirs) {
      const i = t.toUpperCase().indexOf(n);
      const j = compact.toUpperCase().indexOf(n);
      if (i >= 0) found.push(['NIR', n, around(t, i)]);
      else if (j >= 0) found.push(['NIR', n, around(compact, j)]);
    }
    for (const d of ids.birthDates) {
      const i = t.indexOf(d);
      if (i >= 0) found.push(['date de naissance', d, around(t, i)]);
    }
    for (const p of ids.ipps) {
      const m = new RegExp(`(?<![0-9])${escape(p)}(?![0-9])`).exec(t);
      if (m) found.push(['IPP', p, around(t, m.index)]);
    }
    const ft = fold(t);
    for (const n of ids.names) {
      const m = new RegExp(`(?<![\\p{L}\\p{N}])${escape(fold(n))}(?![\\p{L}\\p{N}])`, 'u').exec(ft);
      if (m) found.push(['nom', n, around(ft, m.index)]);
    }
  }
  return found;
}

/** Fails, naming the identifier and where it was seen, when any patient identifier appears. */
export function expectNoPatientData(seen: Seen | string[], ids: PatientIdentifiers): void {
  const texts = Array.isArray(seen) ? seen : typeof seen.texts === 'function' ? seen.texts() : seen.texts;
  if (ids.nirs.length + ids.names.length + ids.birthDates.length + ids.ipps.length === 0) {
    throw new Error('expectNoPatientData: no identifier to look for (the input had no patient?)');
  }
  const found = findPatientData(texts, ids);
  if (found.length) {
    throw new Error(
      `patient data seen in ${found.length} place(s):\n` +
        found.map(([kind, id, where]) => `  ${kind} « ${id} » in: ${JSON.stringify(where)}`).join('\n'),
    );
  }
}
