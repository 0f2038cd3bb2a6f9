/**
 * roc-journal: the configuration node that owns the journal (the SQLite file of received
 * messages, answers to the GAP, dossiers): its file, durability mode, commit window and how long
 * raw messages are kept. roc-mllp-in and roc-mllp-out point at it (their `journal` property).
 * The journal is opened once, by the first node that uses it, shared by reference count
 * (lib/store/registry.ts) and closed when the last one goes. See docs/journal.md.
 */
import type { NodeAPI, Node, NodeDef } from '../common/red';
import { journalOptionsOf, type JournalConfig } from '../common/journal';
import { journalPath, type SharedJournalOptions } from '../../lib/store';

interface RocJournalNode extends Node, JournalConfig {
  file: string;
  options: SharedJournalOptions;
}

export = function register(RED: NodeAPI): void {
  function RocJournal(this: RocJournalNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    this.file = journalPath(String(def.file ?? ''));
    this.options = journalOptionsOf(def, (e) => RED.log.warn(`roc-journal : ${e.message}`));
  }
  RED.nodes.registerType('roc-journal', RocJournal as unknown as (this: Node, def: NodeDef) => void);
};
