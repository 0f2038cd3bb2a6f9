/** What the desk page posts to POST /desk/scan, in each of the forms it takes. */
import { parseDeskRequest } from '../../lib/desk';

const FORM = {
  patient: { nir: '2850430189042', cleNir: '44', dateNaissance: '1985-04-12', rangNaissance: '1', nom: 'MARTIN', prenom: 'Camille' },
  sejour: { type: 'HOSPITALISATION', dateEntree: '2026-11-20', dateSortie: '2026-11-24', numeroDossier: 'NDA-2026-004512' },
  devis: { demande: true, ghs: '3 512,40', nuits: '', chambreParticuliere: true },
};
const SCAN = 'ATP01\u001d0775685365\u001dMU\u001d\u001d30458821\u001d20260101\u001d20261231';

describe('desk request', () => {
  it('JSON from the hand scanner: the scan text and the form', () => {
    const r = parseDeskRequest({ scan: SCAN, ...FORM });
    expect(r.scan).toBe(SCAN);
    expect(r.patient).toEqual(FORM.patient);
    expect(r.sejour).toEqual(FORM.sejour);
    expect(r.devis).toEqual(FORM.devis);
  });

  it('multipart from a dropped photo: the image bytes, and the form from the "demande" field', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const r = parseDeskRequest({ demande: JSON.stringify(FORM) }, [
      { fieldname: 'autre', buffer: Buffer.from('x') },
      { fieldname: 'image', buffer: png },
    ]);
    expect(r.scan).toBe(png);
    expect(r.patient.nom).toBe('MARTIN');
    expect(r.sejour.dateEntree).toBe('2026-11-20');
  });

  it('an upload without an "image" field: the first file', () => {
    const file = Buffer.from('photo');
    expect(parseDeskRequest({}, [{ fieldname: 'fichier', buffer: file }]).scan).toBe(file);
  });

  it('a malformed "demande" field gives an empty form (the answer then asks for the patient)', () => {
    const r = parseDeskRequest({ demande: '{"patient":' });
    expect(r).toEqual({ scan: undefined, patient: {}, sejour: {}, devis: {} });
  });

  it('a bare text/plain scan or a bare image body', () => {
    expect(parseDeskRequest(SCAN)).toEqual({ scan: SCAN, patient: {}, sejour: {}, devis: {} });
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
    expect(parseDeskRequest(jpeg).scan).toBe(jpeg);
  });

  it('parts of the wrong type are ignored, never thrown on', () => {
    const r = parseDeskRequest({ scan: 12, patient: 'MARTIN', sejour: ['x'], devis: null });
    expect(r).toEqual({ scan: 12, patient: {}, sejour: {}, devis: {} });
    expect(parseDeskRequest(null)).toEqual({ scan: undefined, patient: {}, sejour: {}, devis: {} });
  });
});
