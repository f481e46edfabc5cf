/**
 * What the CLI prints: JSON with `--json` (for scripts: one document, stable field names), or
 * text for people — a list of records as an aligned table, one record as `key: value` lines.
 */
export function render(value: unknown, json: boolean): string {
  if (json) return `${JSON.stringify(value, null, 2)}\n`;
  if (Array.isArray(value)) return table(value);
  if (value && typeof value === 'object') return record(value as Record<string, unknown>);
  return `${cell(value)}\n`;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function record(r: Record<string, unknown>): string {
  const keys = Object.keys(r);
  const width = Math.max(0, ...keys.map((k) => k.length));
  return keys
    .map((k) => {
      const v = r[k];
      if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'object') {
        return `${k}:\n${table(v)
          .trimEnd()
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n')}\n`;
      }
      return `${`${k}:`.padEnd(width + 2)}${cell(v)}\n`;
    })
    .join('');
}

function table(rows: unknown[]): string {
  if (rows.length === 0) return '(none)\n';
  if (rows.some((r) => !r || typeof r !== 'object')) return rows.map((r) => `${cell(r)}\n`).join('');
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r as object)))];
  const cells = rows.map((r) => cols.map((c) => cell((r as Record<string, unknown>)[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(cols.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')}\n`;
}
