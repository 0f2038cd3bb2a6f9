/**
 * Test data for the dossier library: PAM-FR admissions as lib/hl7 maps them (fictitious
 * patients of the AMC simulator's seed style), service results as lib/sel writes them on
 * msg.roc.<service>, a clock the test moves.
 */
import type { Admission, Coverage } from '../../lib/model/admission';
import type { Facture } from '../../lib/model/dossier';
import type { ServiceOutcome } from '../../lib/dossier/dossier';
import type { Clock } from '../../lib/dossier/schedule';

export const FINESS_GEO = '750100125';
export const FINESS_JUR = '750712184';

export function amcCoverage(numeroAmc = '0000123456', numeroAdherent = '00412345'): Coverage {
  return {
    setId: 2,
    kind: 'AMC',
    numeroAmc,
    numeroAmcBrut: numeroAmc.replace(/^0+/, ''),
    numeroAdherent,
    extras: ['FRJ'],
    taux: [],
    typeConvention: 'IS',
    debutDroits: '2026-01-01',
    finDroits: '2026-12-31',
  };
}

export function amoCoverage(): Coverage {
  return { setId: 1, kind: 'AMO', organisme: 'CPAM 75', extras: [], taux: [] };
}

export function admission(
  event: string,
  opts: { venue?: string | null; nda?: string; coverages?: Coverage[]; admit?: string; discharge?: string; expected?: string } = {},
): Admission {
  const venue = opts.venue === null ? undefined : (opts.venue ?? 'V2026110001');
  return {
    messageType: 'ADT',
    event,
    meaning: 'IDB',
    controlId: `MSG${event}0001`,
    patient: {
      ipp: { value: '0012345678', type: 'PI' },
      nir: { value: '2850775123456', type: 'NH' },
      identifiers: [],
      nom: 'MARTIN',
      prenom: 'SOPHIE',
      dateNaissance: '1985-07-14',
    },
    venue: {
      nda: { value: opts.nda ?? 'NDA2026000123', type: 'AN' },
      ...(venue ? { numeroVenue: { value: venue, type: 'VN' } } : {}),
      patientClass: 'I',
      type: 'HOSPITALISATION',
      ...(opts.admit ? { admitDateTime: opts.admit } : { admitDateTime: '2026-11-20T08:30' }),
      ...(opts.discharge ? { dischargeDateTime: opts.discharge } : {}),
      ...(opts.expected ? { expectedAdmitDateTime: opts.expected } : {}),
    },
    coverages: opts.coverages ?? [amoCoverage(), amcCoverage()],
    finess: { juridique: FINESS_JUR, geographique: FINESS_GEO },
    warnings: [],
  };
}

let n = 0;
export function result(
  service: ServiceOutcome['service'],
  status: 'OK' | 'KO',
  o: Partial<ServiceOutcome> & { code?: string } = {},
): ServiceOutcome {
  n++;
  const { code, ...rest } = o;
  const technical = o.technical ?? false;
  return {
    service,
    status,
    technical,
    requestId: `REQ-${service}-${n}`,
    latencyMs: 412,
    at: '2026-11-20T08:31:00.000Z',
    messages: code
      ? [{ code, groupe: technical ? 'TECHNIQUE' : 'METIER', severite: 'ERREUR', libelle: 'libellé' }]
      : status === 'OK'
        ? [{ code: '0000', groupe: 'OK', severite: 'INFO', libelle: 'OK' }]
        : [],
    ...rest,
  };
}

export function facture(numero = 'F2026-000481', montantGhs = 3452.4): Facture {
  return {
    numero,
    dateFacture: '2026-11-24',
    lignes: [
      {
        numero: 1,
        code: 'GHS',
        dateDebut: '2026-11-20',
        dateFin: '2026-11-24',
        quantite: 1,
        prixUnitaire: montantGhs,
        baseAmo: montantGhs,
        tauxAmo: 80,
        montantAmo: Math.round(montantGhs * 80) / 100,
      },
      {
        numero: 2,
        code: 'FJ',
        dateDebut: '2026-11-20',
        dateFin: '2026-11-24',
        quantite: 4,
        prixUnitaire: 20,
        baseAmo: 0,
        tauxAmo: 0,
        montantAmo: 0,
      },
    ],
  };
}

export class TestClock implements Clock {
  constructor(private t: number) {}
  static at(iso: string): TestClock {
    return new TestClock(Date.parse(iso));
  }
  now(): Date {
    return new Date(this.t);
  }
  advanceMinutes(m: number): void {
    this.t += m * 60_000;
  }
  set(iso: string): void {
    this.t = Date.parse(iso);
  }
}
