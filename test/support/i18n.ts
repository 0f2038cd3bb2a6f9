/**
 * Node-RED's runtime i18n for nodes run under node-red-node-test-helper. The helper gives every
 * node a `RED._` that returns the key itself; `useLanguage(helper, 'fr')` makes our nodes read
 * their message catalogs (nodes/<type>/locales/<lang>/<type>.json) as the runtime does, so status
 * and log texts are the ones a user reads, parameters included (the patient-data assertions need
 * them).
 *
 * Same i18next options as @node-red/util's i18n: `__name__` placeholders, no HTML escaping,
 * fallback to en-US for a missing key.
 */
import fs from 'node:fs';
import path from 'node:path';

const NODES_DIR = path.join(__dirname, '..', '..', 'nodes');

// i18next as Node-RED's runtime loads it (a dependency of @node-red/util, not ours).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const i18next = require(require.resolve('i18next', { paths: [require.resolve('@node-red/util')] }));

export type Translate = (key: string, subs?: Record<string, unknown>) => string;

/** The node types that have a message catalog. */
export function catalogTypes(): string[] {
  return fs
    .readdirSync(NODES_DIR)
    .filter((d) => fs.existsSync(path.join(NODES_DIR, d, 'locales', 'en-US', `${d}.json`)))
    .sort();
}

/** The message catalog of one node type in one language (its top-level object, `{ <type>: {...} }`). */
export function catalog(type: string, lang: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(NODES_DIR, type, 'locales', lang, `${type}.json`), 'utf8'));
}

const translators = new Map<string, Translate>();

/** `RED._` as the runtime gives it when its language is `lang` ('fr', 'en-US'). */
export function translator(lang: string): Translate {
  let t = translators.get(lang);
  if (t) return t;
  const instance = i18next.createInstance();
  const resources: Record<string, Record<string, unknown>> = {};
  for (const l of ['en-US', lang]) {
    const translation: Record<string, unknown> = {};
    for (const type of catalogTypes()) Object.assign(translation, catalog(type, l));
    resources[l] = { translation };
  }
  instance.init({
    initAsync: false,
    showSupportNotice: false,
    resources,
    lng: lang,
    fallbackLng: 'en-US',
    keySeparator: '.',
    nsSeparator: ':',
    interpolation: { unescapeSuffix: 'HTML', escapeValue: false, prefix: '__', suffix: '__' },
  });
  t = (key, subs) => instance.t(key, subs) as string;
  translators.set(lang, t);
  return t;
}

/** A node's register function, given a RED whose `_` translates into `lang`. */
export function inLanguage<F extends (RED: any) => unknown>(lang: string, register: F): F {
  const t = translator(lang);
  return ((RED: any) => register(new Proxy(RED, { get: (target, p) => (p === '_' ? t : target[p]) }))) as F;
}

/**
 * From now on, the nodes this helper loads speak `lang` (Node-RED's core nodes are left as the
 * helper loads them). Call once per test file, after helper.init().
 */
export function useLanguage(helper: any, lang: string): void {
  const load = helper.load.bind(helper);
  const core = () => new Set(Object.values(helper._nodeModules ?? {}));
  helper.load = (nodes: unknown, ...rest: unknown[]) => {
    const skip = core();
    const list = (Array.isArray(nodes) ? nodes : [nodes]).map((n) =>
      typeof n === 'function' && !skip.has(n) ? inLanguage(lang, n as (RED: any) => unknown) : n,
    );
    return load(list, ...rest);
  };
}
