import type { NodeAPI } from '../common/red';
import { registerServiceNode } from '../common/service-node';

export = function register(RED: NodeAPI): void {
  registerServiceNode(RED, 'roc-del', 'del');
};
