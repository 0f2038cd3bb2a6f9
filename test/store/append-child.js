'use strict';
/**
 * Child process of the durability test (plain JS on the compiled library, which the test global
 * setup builds): appends ADT messages to the journal given in argv, keeping 32 appends pending, and
 * prints "id controlId" as soon as each append resolves. It does not stop before `count`: the test
 * kills it with SIGKILL.
 * Usage: node append-child.js <file> <FULL|NORMAL> <count>
 */
const { Buffer } = require('buffer');
const { readFileSync } = require('fs');
const path = require('path');
const root = path.join(__dirname, '..', '..');
const { SqliteJournal } = require(path.join(root, 'dist', 'lib', 'store', 'sqlite.js'));
const { receive } = require(path.join(root, 'dist', 'lib', 'hl7', 'intake.js'));

const template = readFileSync(path.join(root, 'test', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');
const [file, sync, countText] = process.argv.slice(2);
const journal = new SqliteJournal({ file, synchronous: sync === 'NORMAL' ? 'NORMAL' : 'FULL' });
const count = Number(countText);
let next = 0;

async function one() {
  while (next < count) {
    const i = next++;
    const controlId = `KILL-${i}`;
    const raw = Buffer.from(template.replace('A01-UTF8-0001', controlId).replace('250100421^', `${250200000 + (i % 40)}^`), 'utf8');
    const a = receive(raw).admission;
    const stored = await journal.append({
      raw,
      channel: 'mllp:2575',
      sendingApplication: a.sendingApplication,
      sendingFacility: a.sendingFacility,
      controlId: a.controlId,
      event: `${a.messageType}^${a.event}`,
      orderingKey: a.orderingKey,
    });
    process.stdout.write(`${stored.id} ${controlId}\n`);
  }
}

Promise.all(Array.from({ length: 32 }, one))
  .then(() => journal.close())
  .catch((e) => {
    process.stderr.write(String(e) + '\n');
    process.exit(1);
  });
