import type { Node } from './red';
import type { RocClient } from '../../lib/sel/client';
import type { CertificateState } from '../../lib/sel/establishment';

/** What a `roc-establishment` config node offers the service nodes. */
export interface EstablishmentNode extends Node {
  client?: RocClient;
  configErrors: string[];
  certificate?: CertificateState;
  /** Re-check the certificate (daily timer, and on demand in tests). */
  checkCertificate(now?: Date): CertificateState | undefined;
}
