/** HL7 v2 (PAM-FR) library: MLLP framing, charsets, ER7 parsing, PAM-FR mapping, ACKs. */
export * from './types';
export * from './profile';
export * from './mllp';
export * from './charset';
export * from './er7';
export * from './pamfr';
export * from './dft';
export * from './ack';
export * from './intake';
