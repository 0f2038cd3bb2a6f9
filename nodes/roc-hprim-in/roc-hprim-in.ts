/**
 * roc-hprim-in: watches a drop directory for HPRIM Santé ADM files and HPRIM XML
 * evenementsPatients documents (lib/gap/hprim-watcher.ts), answers each with its acknowledgement file, and
 * sends one message per admission:
 *   msg.roc = { admission, action, amc?, beneficiaire?, assureAmo?, venue? }
 *   msg.hprim = { file, format, messageId, sender, index, count }
 * A refused file reaches catch nodes (done-less node.error) with msg.hprim = { file, format,
 * messageId?, sender?, errors } — codes and places only, no patient data.
 */
import type { NodeAPI, Node, NodeDef, NodeMessage } from '../common/red';
import { admissionToDossier } from '../../lib/hl7/pamfr';
import type { Hl7Charset } from '../../lib/hl7/types';
import { HprimDropWatcher, refusalText } from '../../lib/gap/hprim-watcher';

const CHARSETS: readonly string[] = ['iso-8859-15', 'latin1', 'utf8', 'windows-1252'];

export = function register(RED: NodeAPI): void {
  function RocHprimInNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const node = this; // used from the watcher's event listeners
    let processed = 0;
    let refused = 0;
    let duplicates = 0;
    const text = () =>
      RED._('roc-hprim-in.status.counts', { processed, refused }) +
      (duplicates ? ` · ${RED._('roc-hprim-in.status.duplicates', { duplicates })}` : '');

    let watcher: HprimDropWatcher;
    try {
      const charset = String(def.defaultCharset ?? '');
      watcher = new HprimDropWatcher({
        inputDir: String(def.inputDir ?? ''),
        processedDir: String(def.processedDir ?? '') || undefined,
        errorDir: String(def.errorDir ?? '') || undefined,
        ackDir: String(def.ackDir ?? '') || undefined,
        intervalMs: Number(def.interval) > 0 ? Number(def.interval) * 1000 : undefined,
        pattern: String(def.pattern ?? '') || undefined,
        completion: def.completion === 'marker' ? 'marker' : 'stable',
        // seconds in the editor; an absent setting (flows saved before it existed) keeps the default
        quietMs: def.quiet !== undefined && def.quiet !== '' && Number(def.quiet) >= 0 ? Number(def.quiet) * 1000 : undefined,
        maxBytes: Number(def.maxSizeMb) > 0 ? Number(def.maxSizeMb) * 1024 * 1024 : undefined,
        defaultCharset: CHARSETS.includes(charset) ? (charset as Hl7Charset) : undefined,
        application: String(def.application ?? '') || undefined,
      });
    } catch (err) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('roc-hprim-in.status.configuration') });
      node.error((err as Error).message);
      node.on('close', (_removed, done) => done());
      return;
    }
    (node as unknown as { watcher: HprimDropWatcher }).watcher = watcher;

    watcher.on('admission', (o, index) => {
      const result = o.result!;
      const a = result.admissions[index - 1];
      const msg: NodeMessage = {
        roc: { ...admissionToDossier(a), admission: a, action: a.meaning },
        hprim: {
          file: o.file,
          format: o.format,
          messageId: result.messageId,
          sender: result.sender,
          index,
          count: result.admissions.length,
        },
      };
      node.send(msg);
    });
    watcher.on('file', (o) => {
      if (o.duplicate) {
        duplicates++;
        node.warn(RED._('roc-hprim-in.log.duplicate', { file: o.file }));
      } else if (o.ok) processed++;
      else {
        refused++;
        const msg: NodeMessage = {
          hprim: {
            file: o.file,
            format: o.format,
            messageId: o.result?.messageId,
            sender: o.result?.sender,
            ackFile: o.ackFile,
            errors: o.errors.map((e) => ({ code: e.code, message: e.message, line: e.line, record: e.record, field: e.field })),
          },
        };
        node.error(refusalText(o), msg);
      }
      node.status({ fill: !o.ok && !o.duplicate ? 'red' : 'green', shape: 'dot', text: text() });
    });
    watcher.on('deferred', (d) => {
      // a file that may still be written: nothing is refused yet; the count shows it waits
      node.status({ fill: 'yellow', shape: 'ring', text: `${text()} · ${RED._('roc-hprim-in.status.deferred', { file: d.file })}` });
    });
    watcher.on('problem', (m) => {
      node.status({ fill: 'red', shape: 'ring', text: text() });
      node.error(m, { hprim: { problem: m } });
    });

    node.status({ fill: 'grey', shape: 'ring', text: RED._('roc-hprim-in.status.watching') });
    watcher.start().then(
      () => node.status({ fill: 'green', shape: 'ring', text: text() }),
      (err: NodeJS.ErrnoException) => {
        node.status({ fill: 'red', shape: 'ring', text: RED._('roc-hprim-in.status.dirUnreachable') });
        node.error(RED._('roc-hprim-in.log.dirUnreachable', { code: err.code ?? err.name }));
      },
    );

    node.on('close', (_removed, done) => {
      watcher.close().then(
        () => done(),
        () => done(),
      );
    });
  }
  RED.nodes.registerType('roc-hprim-in', RocHprimInNode);
};
