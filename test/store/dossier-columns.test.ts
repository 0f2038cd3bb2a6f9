/**
 * lib/store/dossier-columns.ts alone: what a journal indexes of a dossier record (the columns the
 * journal browser filters on: FINESS, venue, dates, AMC) and the due time the scheduler wakes at.
 */
import { dossierColumns, dossierDueAt, splitDossierKey } from '../../lib/store/dossier-columns';
import { AMC_MUTUELLE, FINESS, dossier } from './dossier-fixtures';

describe('splitDossierKey', () => {
  it('splits FINESS/V/venue and FINESS/N/NDA; an unknown FINESS ("-" or empty) gives the venue alone', () => {
    expect(splitDossierKey('750100125/V/250100421')).toEqual({ finess: '750100125', venue: '250100421' });
    expect(splitDossierKey('2A0000139/N/NDA2026000117')).toEqual({ finess: '2A0000139', venue: 'NDA2026000117' });
    expect(splitDossierKey('-/V/250100421')).toStrictEqual({ venue: '250100421' });
    expect(splitDossierKey('/N/NDA2026000117')).toStrictEqual({ venue: 'NDA2026000117' });
  });

  it('a key of another shape gives nothing (no FINESS or venue taken from the middle of it)', () => {
    expect(splitDossierKey('CHU/750100125/V/250100421')).toStrictEqual({});
    expect(splitDossierKey('750100125/X/250100421')).toStrictEqual({});
    expect(splitDossierKey('250100421')).toStrictEqual({});
    // a line break inside: the key is not split (the venue would stop at it)
    expect(splitDossierKey('750100125/V/250100421\nX')).toStrictEqual({});
  });
});

describe('dossierColumns', () => {
  it('a record without its stay (an older record, read back as JSON) gets no dates, and no error', () => {
    const d = dossier('250100421', 'DROITS_OK', {});
    delete (d as { sejour?: unknown }).sejour;
    const c = dossierColumns(d);
    expect(c).toMatchObject({ key: `${FINESS}/V/250100421`, venue: '250100421' });
    expect(c).not.toHaveProperty('dateEntree');
    expect(c).not.toHaveProperty('dateSortie');
  });

  it('indexes the state, AMC, FINESS, venue, the days of the stay, the due time and the flags', () => {
    const d = dossier('250100421', 'DROITS_OK', {
      idbValidite: '2026-11-30',
      sejour: { type: 'HOSPITALISATION', dateEntree: '2026-11-20T08:30:00', dateSortie: '2026-12-04T11:00:00', numeroVenue: '250100421' },
      drapeaux: [],
      majLe: '2026-11-20T08:31:00.000Z',
    });
    expect(dossierColumns(d)).toStrictEqual({
      key: `${FINESS}/V/250100421`,
      etat: 'DROITS_OK',
      numeroAmc: AMC_MUTUELLE,
      finess: FINESS,
      venue: '250100421',
      dateEntree: '2026-11-20',
      dateSortie: '2026-12-04',
      dueAt: Date.parse('2026-12-01T00:00:00Z'),
      flagged: false,
      majLe: '2026-11-20T08:31:00.000Z',
    });
  });

  it('nothing due, no discharge, no AMC: those columns are absent', () => {
    const d = dossier('250100422', 'ADMIS', { couverture: undefined, sejour: { type: 'HOSPITALISATION', numeroVenue: '250100422' } });
    const c = dossierColumns(d);
    expect(Object.keys(c).sort()).toEqual(['etat', 'finess', 'flagged', 'key', 'majLe', 'venue']);
  });

  it('the FINESS géographique of the record wins over the one in its key; else the key’s', () => {
    const d = dossier('250100423', 'ADMIS', { finessGeographique: '2B0000285' });
    expect(dossierColumns(d).finess).toBe('2B0000285');
    expect(dossierColumns({ ...d, finessGeographique: undefined }).finess).toBe(FINESS);
  });
});

describe('dossierDueAt', () => {
  it('a request in flight is due at its perduLe when the engine set one, else at + grace', () => {
    const d = dossier('250100424', 'ADMIS', {
      enCours: { idb: { requestId: 'REQ-IDB-24', at: '2026-11-25T09:00:00.000Z', perduLe: '2026-11-25T09:02:00.000Z' } },
    });
    expect(dossierDueAt(d, 10 * 60_000)).toBe(Date.parse('2026-11-25T09:02:00.000Z'));
    const older = dossier('250100424', 'ADMIS', { enCours: { idb: { requestId: 'REQ-IDB-24', at: '2026-11-25T09:00:00.000Z' } } });
    expect(dossierDueAt(older, 10 * 60_000)).toBe(Date.parse('2026-11-25T09:10:00.000Z'));
  });

  it('unreadable dates and empty in-flight slots are skipped, not turned into NaN', () => {
    const recheck = dossier('250100425', 'ENGAGE', {
      reverification: { service: 'del', requestId: 'REQ-DEL-25', tentatives: 2, prochaine: 'demain matin' },
    });
    expect(dossierDueAt(recheck)).toBeUndefined();
    const badAt = dossier('250100425', 'ADMIS', { enCours: { idb: { requestId: 'REQ-IDB-25', at: '' } } });
    expect(dossierDueAt(badAt)).toBeUndefined();
    const empty = dossier('250100425', 'ADMIS', {
      enCours: { idb: undefined, clc: { requestId: 'REQ-CLC-25', at: '2026-11-25T09:00:00.000Z' } },
    });
    expect(dossierDueAt(empty, 60_000)).toBe(Date.parse('2026-11-25T09:01:00.000Z'));
  });
});
