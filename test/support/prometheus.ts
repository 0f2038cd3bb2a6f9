/**
 * A small parser of the Prometheus text exposition format (0.0.4), for tests: HELP and TYPE lines,
 * samples with labels (escaped \\, \", \n), values (+Inf, -Inf, NaN in any case), optional timestamps.
 * Throws on a line it cannot read, so a malformed exposition fails the test.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Exposition {
  types: Record<string, string>;
  help: Record<string, string>;
  samples: Sample[];
  /** Sum of the samples of `name` whose labels include `where`. */
  sum(name: string, where?: Record<string, string>): number;
  /** The samples of `name` whose labels include `where`. */
  find(name: string, where?: Record<string, string>): Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+(-?\\d+))?$`);
const LABEL_RE = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

function parseValue(v: string): number {
  // as Prometheus reads them (Go's ParseFloat): Inf and NaN in any case (prom-client writes `Nan`)
  if (/^\+?inf$/i.test(v)) return Infinity;
  if (/^-inf$/i.test(v)) return -Infinity;
  if (/^nan$/i.test(v)) return NaN;
  const n = Number(v);
  if (Number.isNaN(n)) throw new Error(`not a sample value: ${v}`);
  return n;
}

export function parsePrometheus(text: string): Exposition {
  const types: Record<string, string> = {};
  const help: Record<string, string> = {};
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      types[m[1]] = m[2];
      continue;
    }
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      help[m[1]] = m[2];
      continue;
    }
    if (line.startsWith('#')) continue;
    m = SAMPLE_RE.exec(line);
    if (!m) throw new Error(`unreadable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      LABEL_RE.lastIndex = 0;
      let pos = 0;
      while (pos < m[2].length) {
        LABEL_RE.lastIndex = pos;
        const l = LABEL_RE.exec(m[2]);
        if (!l) throw new Error(`unreadable labels: ${m[2]}`);
        labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        pos = LABEL_RE.lastIndex;
      }
    }
    samples.push({ name: m[1], labels, value: parseValue(m[3]) });
  }
  const matches = (s: Sample, where: Record<string, string> = {}) => Object.entries(where).every(([k, v]) => s.labels[k] === v);
  return {
    types,
    help,
    samples,
    find: (name, where) => samples.filter((s) => s.name === name && matches(s, where)),
    sum: (name, where) => samples.filter((s) => s.name === name && matches(s, where)).reduce((a, s) => a + s.value, 0),
  };
}
