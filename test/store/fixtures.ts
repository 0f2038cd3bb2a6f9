/** Realistic PAM-FR messages for the journal tests, built from the A01 fixture with lib/hl7. */
import { readFileSync } from 'fs';
import * as path from 'path';
import { receive } from '../../lib/hl7/intake';
import type { InboundInput } from '../../lib/store/journal';

const TEMPLATE = readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');

/** An ADT message for venue `venue` (PV1-19) with MSH-10 `controlId`, as the listener would append it. */
export function adt(controlId: string, venue: string, options: { event?: string; sender?: string } = {}): InboundInput {
  let text = TEMPLATE.replace('A01-UTF8-0001', controlId).replace('250100421^', `${venue}^`);
  if (options.event) text = text.replace('ADT^A01^ADT_A01', `ADT^${options.event}^ADT_${options.event}`);
  if (options.sender) text = text.replace('|CPAGE|', `|${options.sender}|`);
  const raw = Buffer.from(text, 'utf8');
  const intake = receive(raw);
  const a = intake.admission;
  if (!a) throw new Error('fixture did not parse');
  return {
    raw,
    channel: 'mllp:2575',
    sendingApplication: a.sendingApplication,
    sendingFacility: a.sendingFacility,
    controlId: a.controlId,
    event: `${a.messageType}^${a.event}`,
    charset: intake.charset,
    orderingKey: a.orderingKey,
    ignored: intake.ignored,
  };
}
