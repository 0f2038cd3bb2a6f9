/**
 * Profile-driven codec: canonical objects <-> SOAP 1.2 messages of the ROC online services.
 *
 * Every element name, order, type and namespace comes from the profile (profile.ts); this file
 * holds no ROC element name. Encoding writes XML directly (escaped, in profile order); decoding
 * goes through the hardened parser of soap.ts and checks every element against the profile.
 */
import { PROFILE, type FieldSpec, type SelProfile } from './profile';
import { buildEnvelope, children, escapeXml, parseEnvelope, SoapError, textOf, type XmlElement, DEFAULT_MAX_BYTES } from './soap';

export type OperationName = keyof SelProfile['operations'];
type Obj = Record<string, unknown>;

const SCALARS = new Set(['string', 'date', 'dateTime', 'decimal', 'integer', 'boolean']);
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

interface PlannedField {
  spec: FieldSpec;
  key: string;
  scalar: boolean;
  open: string;
  close: string;
}

export class Codec {
  private readonly byRequestElement = new Map<string, OperationName>();
  private readonly byResponseElement = new Map<string, OperationName>();
  private readonly patterns = new Map<string, RegExp>();
  private readonly plans = new Map<string, readonly PlannedField[]>();

  constructor(readonly profile: SelProfile = PROFILE) {
    for (const [name, op] of Object.entries(profile.operations) as [OperationName, SelProfile['operations'][OperationName]][]) {
      this.byRequestElement.set(op.request.element, name);
      this.byResponseElement.set(op.response.element, name);
    }
  }

  // ---- encoding --------------------------------------------------------------------------

  encodeRequest(op: OperationName, payload: Obj): string {
    const spec = this.profile.operations[op].request;
    return buildEnvelope(this.encodeRoot(spec.element, spec.type, payload));
  }

  encodeResponse(op: OperationName, payload: Obj): string {
    const spec = this.profile.operations[op].response;
    return buildEnvelope(this.encodeRoot(spec.element, spec.type, payload));
  }

  private encodeRoot(element: string, type: string, payload: Obj): string {
    const p = this.profile.prefix;
    return `<${p}:${element} xmlns:${p}="${this.profile.namespaces.roc}">${this.encodeFields(type, payload, element)}</${p}:${element}>`;
  }

  private encodeFields(type: string, obj: Obj, path: string): string {
    let out = '';
    for (const f of this.plan(type)) {
      const v = obj[f.key];
      if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) {
        if (f.spec.required) throw new SoapError('unexpected', `missing mandatory ${path}/${f.spec.element} (${f.key})`);
        continue;
      }
      if (f.spec.repeated && Array.isArray(v)) {
        for (const item of v) out += this.encodeItem(f, item, path);
      } else out += this.encodeItem(f, v, path);
    }
    return out;
  }

  /** One element; the error path (`path`/element) is only built when something is wrong. */
  private encodeItem(f: PlannedField, item: unknown, path: string): string {
    const inner = f.scalar
      ? escapeXml(this.scalarOut(f.spec, item, path))
      : this.encodeFields(f.spec.type, item as Obj, `${path}/${f.spec.element}`);
    return f.open + inner + f.close;
  }

  /** The fields of a type with their tags, built once per type. */
  private plan(type: string): readonly PlannedField[] {
    let plan = this.plans.get(type);
    if (!plan) {
      const p = this.profile.prefix;
      plan = this.fields(type).map((f) => ({
        spec: f,
        key: f.key,
        scalar: SCALARS.has(f.type),
        open: `<${p}:${f.element}>`,
        close: `</${p}:${f.element}>`,
      }));
      this.plans.set(type, plan);
    }
    return plan;
  }

  private scalarOut(f: FieldSpec, v: unknown, parent: string): string {
    switch (f.type) {
      case 'decimal': {
        const n = typeof v === 'number' ? v : Number(v);
        if (!Number.isFinite(n)) throw new SoapError('unexpected', `${parent}/${f.element}: not a number`);
        return (Math.round(n * 100) / 100).toFixed(2);
      }
      case 'integer': {
        const n = typeof v === 'number' ? v : Number(v);
        if (!Number.isInteger(n)) throw new SoapError('unexpected', `${parent}/${f.element}: not an integer`);
        return String(n);
      }
      case 'boolean':
        return v === true || v === 'true' ? 'true' : 'false';
      default:
        return String(v);
    }
  }

  // ---- decoding --------------------------------------------------------------------------

  /** Decode a response of the given operation. Throws SoapError (fault, malformed, namespace…). */
  decodeResponse(op: OperationName, xml: string | Buffer, maxBytes = DEFAULT_MAX_BYTES): Obj {
    const el = parseEnvelope(xml, maxBytes);
    const spec = this.profile.operations[op].response;
    this.expect(el, spec.element);
    return this.decodeFields(spec.type, el, spec.element);
  }

  /** Decode any request of the profile (used by the simulator); returns the operation and payload. */
  decodeRequest(xml: string | Buffer, maxBytes = DEFAULT_MAX_BYTES): { op: OperationName; payload: Obj } {
    const el = parseEnvelope(xml, maxBytes);
    const op = this.byRequestElement.get(el.local);
    if (!op || el.ns !== this.profile.namespaces.roc) {
      throw new SoapError('unexpected', `unknown request element {${el.ns ?? ''}}${el.local}`);
    }
    const spec = this.profile.operations[op].request;
    return { op, payload: this.decodeFields(spec.type, el, spec.element) };
  }

  private expect(el: XmlElement, element: string): void {
    if (el.local !== element) throw new SoapError('unexpected', `expected <${element}>, got <${el.local}>`);
    if (el.ns !== this.profile.namespaces.roc) {
      throw new SoapError('namespace', `<${element}> in namespace ${el.ns ?? '(none)'}, expected ${this.profile.namespaces.roc}`);
    }
  }

  private decodeFields(type: string, el: XmlElement, path: string): Obj {
    const fields = this.fields(type);
    const ns = this.profile.namespaces.roc;
    const kids = children(el);
    for (const c of kids) {
      if (c.ns !== ns) throw new SoapError('namespace', `${path}/${c.local} in namespace ${c.ns ?? '(none)'}, expected ${ns}`);
    }
    const out: Obj = {};
    for (const f of fields) {
      // A type has a dozen fields at most: a scan beats building a map per element.
      let first: XmlElement | undefined;
      let more: XmlElement[] | undefined;
      for (const c of kids) {
        if (c.local !== f.element) continue;
        if (!first) first = c;
        else (more ??= [first]).push(c);
      }
      if (!first) {
        if (f.required && !f.repeated) throw new SoapError('unexpected', `missing mandatory element ${path}/${f.element}`);
        if (f.repeated) out[f.key] = [];
        continue;
      }
      if (!f.repeated) {
        if (more) throw new SoapError('unexpected', `element ${path}/${f.element} repeated`);
        out[f.key] = this.decodeValue(f, first, path);
      } else if (!more) out[f.key] = [this.decodeValue(f, first, path)];
      else out[f.key] = more.map((c) => this.decodeValue(f, c, path));
    }
    return out;
  }

  private decodeValue(f: FieldSpec, c: XmlElement, parent: string): unknown {
    return SCALARS.has(f.type) ? this.scalarIn(f, textOf(c), parent) : this.decodeFields(f.type, c, `${parent}/${f.element}`);
  }

  private scalarIn(f: FieldSpec, s: string, parent: string): unknown {
    switch (f.type) {
      case 'decimal': {
        if (!/^-?\d+(\.\d+)?$/.test(s)) throw new SoapError('unexpected', `${parent}/${f.element}: "${s.slice(0, 20)}" is not a decimal`);
        return Number(s);
      }
      case 'integer': {
        if (!/^-?\d+$/.test(s)) throw new SoapError('unexpected', `${parent}/${f.element}: "${s.slice(0, 20)}" is not an integer`);
        return Number(s);
      }
      case 'boolean':
        if (s !== 'true' && s !== 'false' && s !== '1' && s !== '0')
          throw new SoapError('unexpected', `${parent}/${f.element}: not a boolean`);
        return s === 'true' || s === '1';
      case 'date':
        if (!DATE_RE.test(s)) throw new SoapError('unexpected', `${parent}/${f.element}: "${s.slice(0, 20)}" is not a date`);
        return s;
      case 'dateTime':
        if (!DATETIME_RE.test(s)) throw new SoapError('unexpected', `${parent}/${f.element}: "${s.slice(0, 30)}" is not a date-time`);
        return s;
      default:
        if (f.values && !f.values.includes(s))
          throw new SoapError('unexpected', `${parent}/${f.element}: unexpected value "${s.slice(0, 20)}"`);
        if (f.pattern && !this.pattern(f.pattern).test(s)) throw new SoapError('unexpected', `${parent}/${f.element}: invalid value`);
        return s;
    }
  }

  private pattern(p: string): RegExp {
    let re = this.patterns.get(p);
    if (!re) {
      re = new RegExp(`^(?:${p})$`);
      this.patterns.set(p, re);
    }
    return re;
  }

  private fields(type: string): readonly FieldSpec[] {
    const fields = this.profile.types[type];
    if (!fields) throw new Error(`profile ${this.profile.id} has no type ${type}`);
    return fields;
  }
}

export const codec = new Codec();
