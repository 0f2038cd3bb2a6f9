/**
 * The ROC dossier's states and transitions (lib/dossier/states.ts): every allowed transition of
 * the table moves a dossier where the table says, and an event the state does not allow is
 * refused with a reason an operator can read, the dossier untouched.
 */
import { EVENTS, SAME, STATES, STATE_LABELS, TRANSITIONS, nextState, transition, type DossierState } from '../../lib/dossier/states';
import { newDossier } from '../../lib/dossier/dossier';

function inState(etat: DossierState) {
  return { ...newDossier(`${'750100125'}/V/V2026110001`, 'PV1-19', '2026-11-20T08:00:00Z'), etat };
}

describe('the transition table', () => {
  const cases = TRANSITIONS.flatMap((t) => t.from.map((from) => ({ from, event: t.event, to: t.to === SAME ? from : t.to })));

  it.each(cases)('$from --$event--> $to', ({ from, event, to }) => {
    // Only the FIRST row for (state, event) counts: the table must not hold a second, contradicting one.
    const first = TRANSITIONS.find((t) => t.event === event && t.from.includes(from))!;
    expect(first.to === SAME ? from : first.to).toBe(to);
    const before = inState(from);
    const r = transition(before, event, '2026-11-20T09:00:00.000Z');
    expect(r.ok).toBe(true);
    expect(r.dossier.etat).toBe(to);
    expect(r.dossier.historique).toEqual([{ at: '2026-11-20T09:00:00.000Z', event, from, to }]);
    expect(before.etat).toBe(from); // the input is not modified
    expect(before.historique).toEqual([]);
  });

  it('has no (state, event) pair listed twice', () => {
    const seen = new Map<string, number>();
    for (const t of TRANSITIONS) for (const f of t.from) seen.set(`${f}/${t.event}`, (seen.get(`${f}/${t.event}`) ?? 0) + 1);
    expect([...seen].filter(([, c]) => c > 1)).toEqual([]);
  });

  it('uses every event and reaches every state, each with a French label', () => {
    const used = new Set(TRANSITIONS.map((t) => t.event));
    expect(EVENTS.filter((e) => !used.has(e))).toEqual([]);
    const reached = new Set<DossierState>(['SANS_AMC', 'ADMIS']);
    for (const t of TRANSITIONS) if (t.to !== SAME) reached.add(t.to);
    expect(STATES.filter((s) => !reached.has(s))).toEqual([]);
    for (const s of STATES) expect(STATE_LABELS[s]).toMatch(/\S/);
  });

  it('walks the main path: admitted → rights OK → invoice → engaged → cancelled', () => {
    let d = inState('ADMIS');
    for (const [event, etat] of [
      ['IDB_OK', 'DROITS_OK'],
      ['FACTURE', 'FACTURE_RECUE'],
      ['CLC_OK', 'ENGAGE'],
      ['ANNULATION', 'ENGAGE'],
      ['DEL_OK_ANNULATION', 'ANNULE'],
    ] as const) {
      const r = transition(d, event);
      expect(r.ok).toBe(true);
      d = r.dossier;
      expect(d.etat).toBe(etat);
    }
    expect(d.historique.map((h) => h.event)).toEqual(['IDB_OK', 'FACTURE', 'CLC_OK', 'ANNULATION', 'DEL_OK_ANNULATION']);
  });
});

describe('refused transitions', () => {
  it('refuses an engagement for a dossier whose rights were never checked, with a reason an operator reads', () => {
    const d = inState('ADMIS');
    const r = transition(d, 'CLC_OK');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.dossier).toBe(d);
    expect(r.reason).toBe(
      "« engagement obtenu (CLC) » refusé : le dossier est « admis, droits AMC à vérifier » ; cet événement n'est admis que si le dossier est « facture reçue, calcul AMC attendu », « à revérifier (l'AMC n'a pas répondu) », « calcul refusé par l'AMC »",
    );
  });

  it('refuses a payment before any invoice was sent to the AMC', () => {
    const r = transition(inState('ENGAGE'), 'RSP_PAYE');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain("« facture envoyée à l'AMC »");
  });

  it('refuses every pair missing from the table, and the reason never holds patient data', () => {
    let refused = 0;
    for (const s of STATES)
      for (const e of EVENTS) {
        if (nextState(s, e) !== undefined) continue;
        refused++;
        const r = transition(inState(s), e);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.reason).not.toMatch(/MARTIN|\d{13}/);
      }
    expect(refused).toBeGreaterThan(100);
  });

  it('a DEL already invoiced (6022) takes the dossier to manual handling', () => {
    expect(nextState('ENGAGE', 'DEL_DEJA_FACTURE')).toBe('A_TRAITER_MANUELLEMENT');
    expect(nextState('ENGAGE', 'DEL_TECHNIQUE')).toBe('ENGAGE'); // engagement still live, DEL re-asked
    expect(nextState('ADMIS', 'IDB_TECHNIQUE')).toBe('A_REVERIFIER');
    expect(nextState('FACTURE_AMC', 'ANNULATION')).toBe('A_TRAITER_MANUELLEMENT');
  });
});
