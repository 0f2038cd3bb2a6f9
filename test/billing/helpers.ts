/** Edits a record of a fixed-width file in place (1-based line and position), for bad-input tests. */
export function tamper(buf: Buffer, line: number, position: number, text: string): Buffer {
  const lines = buf.toString('latin1').split('\r\n');
  const l = lines[line - 1];
  lines[line - 1] = l.slice(0, position - 1) + text + l.slice(position - 1 + text.length);
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/** The file's records without their line endings. */
export function records(buf: Buffer): string[] {
  return buf
    .toString('latin1')
    .split('\r\n')
    .filter((l) => l !== '');
}

export function fromRecords(recs: string[]): Buffer {
  return Buffer.from(recs.join('\r\n') + '\r\n', 'latin1');
}
