/**
 * What the admission desk page posts to POST /desk/scan, read into one shape.
 *
 * Accepted bodies (as Node-RED's `http in` node hands them over in `msg.payload` / `msg.req.files`):
 * - JSON `{ scan, patient, sejour, devis }` (the page, when the clerk scans with the hand scanner);
 * - multipart/form-data: an `image` file (photo / scan of the attestation) and a `demande` field
 *   holding the same JSON without `scan` (the page, when a photo is dropped);
 * - a bare text/plain body (the scan) or image/png|jpeg body (the photo).
 *
 * Nothing is validated here: the form is checked by `buildDossier` once the attestation is read.
 */

/** The form part of a desk request: what the clerk typed about the patient, the stay, the quote. */
export interface DeskForm {
  patient: Record<string, unknown>;
  sejour: Record<string, unknown>;
  devis: Record<string, unknown>;
}

export interface DeskRequest extends DeskForm {
  /**
   * What roc-datamatrix reads: the scan text, or the image's bytes; whatever the JSON's `scan`
   * held otherwise (roc-datamatrix answers an unusable one with a clear refusal).
   */
  scan: unknown;
}

/** An uploaded file as the `http in` node (multer) gives it. */
export interface UploadedFile {
  fieldname?: string;
  buffer?: Buffer;
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) ? (v as Obj) : {};
}

export function parseDeskRequest(body: unknown, files: readonly UploadedFile[] = []): DeskRequest {
  let demande = obj(body);
  if (typeof demande.demande === 'string') {
    try {
      demande = obj(JSON.parse(demande.demande));
    } catch {
      demande = {};
    }
  }
  const image = files.find((f) => f.fieldname === 'image') ?? files[0];
  let scan: unknown;
  if (image) scan = image.buffer;
  else if (Buffer.isBuffer(body) || typeof body === 'string') scan = body;
  else scan = demande.scan;
  return { scan, patient: obj(demande.patient), sejour: obj(demande.sejour), devis: obj(demande.devis) };
}
