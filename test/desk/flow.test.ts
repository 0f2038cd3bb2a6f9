/**
 * The shipped flow keeps its logic in nodes, not in function nodes: none over 10 lines; the desk
 * tab runs on roc-desk-request / roc-desk-answer; the GAP tab tells a technical KO by its code,
 * never by the text of the error.
 */
import fs from 'node:fs';
import path from 'node:path';

const FLOW: any[] = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'flows', 'roc-bridge.json'), 'utf8'));
const byId = new Map(FLOW.map((n) => [n.id, n]));

/** Where a wire really goes: a link out stands for the link in nodes it points at. */
function targets(ids: string[]): any[] {
  return ids.flatMap((id) => {
    const n = byId.get(id);
    if (n?.type !== 'link out') return [n];
    return (n.links as string[]).flatMap((l) => (byId.get(l)?.wires ?? []).flat().map((t: string) => byId.get(t)));
  });
}
/** The nodes whose output (directly or through a link) reaches `id`. */
function feeding(nodes: any[], id: string): any[] {
  return nodes.filter((n) => n.type !== 'link in' && (n.wires ?? []).some((p: string[]) => targets(p).some((t) => t?.id === id)));
}

describe('shipped flow flows/roc-bridge.json', () => {
  it('has no function node over 10 lines', () => {
    const long = FLOW.filter((n) => n.type === 'function')
      .map((n) => ({
        name: n.name,
        lines: [n.func, n.initialize, n.finalize].map((s: string) => (s ? s.trim().split('\n').length : 0)).reduce((a, b) => a + b, 0),
      }))
      .filter((f) => f.lines > 10);
    expect(long).toEqual([]);
  });

  it('wires only to nodes that exist', () => {
    const dangling: string[] = [];
    for (const n of FLOW) {
      for (const port of n.wires ?? []) for (const w of port) if (!byId.has(w)) dangling.push(`${n.id} → ${w}`);
      for (const s of ['catch', 'complete'].includes(n.type) && Array.isArray(n.scope) ? n.scope : [])
        if (!byId.has(s)) dangling.push(`${n.id} scope ${s}`);
      for (const l of /^link (in|out)$/.test(n.type) ? n.links : [])
        if (byId.get(l)?.type !== (n.type === 'link in' ? 'link out' : 'link in')) dangling.push(`${n.id} link ${l}`);
    }
    expect(dangling).toEqual([]);
  });

  it('the desk: POST /desk/scan → request → attestation → patient complete? → annuaire … → answer → http response', () => {
    const desk = FLOW.filter((n) => n.z === 'desk-tab');
    const scanIn = desk.find((n) => n.type === 'http in' && n.url === '/desk/scan');
    const request = byId.get(scanIn.wires[0][0]);
    expect(request.type).toBe('roc-desk-request');
    expect([request.forfaitJournalier, request.chambreParticuliere, request.tauxAmoGhs]).toEqual([20, 75, 80]);
    const dm = byId.get(request.wires[0][0]);
    expect(dm.type).toBe('roc-datamatrix');
    const complete = byId.get(dm.wires[0][0]);
    expect(complete).toMatchObject({ type: 'switch', property: 'desk.saisie', rules: [{ t: 'null' }, { t: 'else' }] });
    expect(byId.get(complete.wires[0][0]).type).toBe('roc-annuaire');
    const answers = desk.filter((n) => n.type === 'roc-desk-answer');
    expect(answers).toHaveLength(1);
    // every outcome reaches the answer: unread attestation, incomplete patient, annuaire/IDB/SIM KO, no quote, SIM
    const into = feeding(desk, answers[0].id).map((n) => n.type);
    expect(into.sort()).toEqual(['roc-annuaire', 'roc-datamatrix', 'roc-idb', 'roc-sim', 'switch', 'switch'].sort());
    expect(byId.get(answers[0].wires[0][0]).type).toBe('http response');
  });

  it('the GAP tab: intake → dossier → services → dossier → answer; every branch goes back to the listener through link nodes, GAP messages only', () => {
    const gap = FLOW.filter((n) => n.z === 'gap-tab');
    const listener = gap.find((n) => n.type === 'roc-mllp-in');
    const answer = gap.find((n) => n.type === 'roc-mllp-out');
    const dossier = gap.find((n) => n.type === 'roc-dossier');
    // no wire drawn back into the listener: only the switch after the link in "traité", which lets
    // GAP messages through (copies and the clock's messages carry no journal id)
    const into = gap.filter((n) => (n.wires ?? []).flat().includes(listener.id));
    expect(into.map((n) => n.type)).toEqual(['switch']);
    expect(into[0]).toMatchObject({ property: 'hl7.journalId', rules: [{ t: 'nnull' }] });
    expect(gap.filter((n) => (n.wires ?? []).flat().includes(into[0].id)).map((n) => n.type)).toEqual(['link in']);
    const backToListener = (ids: string[]) => targets(ids).flatMap((t: any) => (t.id === into[0].id ? [listener.id] : [t.id]));
    // the admission's meaningful outputs go to the dossier; identity and ignored events are done at once
    const adm = gap.find((n) => n.type === 'roc-hl7-admission');
    for (const port of adm.wires.slice(0, 4)) expect(targets(port).map((t: any) => t.id)).toEqual([dossier.id]);
    for (const port of adm.wires.slice(4)) expect(backToListener(port)).toEqual([listener.id]);
    // the dossier's outputs: IDB through the annuaire, SIM, CLC, DEL, the GAP answer, the HTTP answer, done
    const kinds = dossier.wires.map((port: string[]) => targets(port).map((t: any) => t.type));
    expect(kinds).toEqual([['roc-annuaire'], ['roc-sim'], ['roc-clc'], ['roc-del'], ['roc-mllp-out'], ['http response'], ['switch']]);
    // every service result (OK and KO) goes back to the dossier, never to the answer or the listener
    for (const service of gap.filter((n) => ['roc-idb', 'roc-sim', 'roc-del', 'roc-clc'].includes(n.type))) {
      for (const port of service.wires) expect(targets(port).map((t: any) => t.id)).toEqual([dossier.id]);
    }
    const annuaire = gap.find((n) => n.type === 'roc-annuaire');
    expect(targets(annuaire.wires[0]).map((t: any) => t.type)).toEqual(['roc-idb']);
    expect(targets(annuaire.wires[1]).map((t: any) => t.id)).toEqual([dossier.id]);
    expect(feeding(gap, answer.id).map((n) => n.type)).toEqual(['roc-dossier']);
    // once roc-mllp-out has queued the answer (its done(), a complete node), the message goes back as processed
    const queued = gap.find((n) => n.type === 'complete');
    expect(queued.scope).toEqual([answer.id]);
    expect(backToListener(queued.wires[0])).toEqual([listener.id]);
    // an answer that cannot be built or queued, or a dossier that cannot be stored, is a processing error
    expect(gap.find((n) => n.type === 'catch').scope).toEqual(expect.arrayContaining([answer.id, dossier.id]));
    // POST /roc/invoice reaches the same dossier node (one engine: one venue at a time)
    const invoice = gap.find((n) => n.type === 'http in' && n.url === '/roc/invoice');
    expect(targets(byId.get(invoice.wires[0][0]).wires[0]).map((t: any) => t.id)).toEqual([dossier.id]);
  });

  it('the GAP tab: a technical KO is told by msg.error.code, never by the error’s text', () => {
    const gapCatch = FLOW.find((n) => n.z === 'gap-tab' && n.type === 'catch');
    const sw = byId.get(gapCatch.wires[0][0]);
    expect(sw).toMatchObject({ type: 'switch', property: 'error.code', propertyType: 'msg' });
    expect(sw.rules[0]).toEqual({ t: 'eq', v: 'ROC_TECHNICAL_KO', vt: 'str' });
    expect(JSON.stringify(FLOW)).not.toMatch(/error\.message[^"]*(KO technique|regex)|KO technique\//);
    for (const n of FLOW.filter((x) => x.type === 'switch')) {
      if (/error\.message/.test(n.property)) throw new Error(`switch ${n.id} routes on an error's text`);
    }
  });
});
