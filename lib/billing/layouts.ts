/**
 * The billing layouts, loaded from data ([profile]): one JSON file per format under layouts/,
 * checked at load (fields contiguous, lengths adding up to the record length).
 */
import arlData from './layouts/arl.json';
import dreEsData from './layouts/dre-es.json';
import rspData from './layouts/rsp.json';
import { compileLayout, type Layout, type LayoutData } from './records';

export const DRE_ES: Layout = compileLayout(dreEsData as LayoutData);
export const RSP: Layout = compileLayout(rspData as LayoutData);
export const ARL: Layout = compileLayout(arlData as LayoutData);
