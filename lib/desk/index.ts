/** The admission desk (POST /desk/scan): request parsing, dossier building, verdict and advice. */
export { parseDeskRequest, type DeskForm, type DeskRequest, type UploadedFile } from './request';
export {
  buildDossier,
  checkTariffs,
  DEFAULT_TARIFFS,
  TARIFF_BOUNDS,
  VENUE_TYPES,
  type BuildOptions,
  type DeskDossier,
  type DeskTariffs,
  type DossierOutcome,
} from './dossier';
export {
  deskAnswer,
  verdict,
  verdictKo,
  attente,
  typo,
  CONSEIL,
  TITRE_KO,
  TITRE_KO_DEFAUT,
  TITRE_ANNUAIRE,
  VERDICTS,
  type DeskAnswer,
  type DeskState,
  type Etape,
  type Guichet,
  type Verdict,
} from './answer';
