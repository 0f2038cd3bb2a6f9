/** HPRIM library: HPRIM Santé ADM and HPRIM XML evenementsPatients readers, acknowledgements. */
export * from './types';
export * as profile from './profile';
export * from './sante';
export * from './xml';
export * from './ack';
export * from './file';
