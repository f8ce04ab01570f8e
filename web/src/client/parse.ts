/** Structured lines: a JSON object or logfmt (`key=value key2="quoted value"`), expanded into fields. */
export function parseFields(message: string): Record<string, string> | undefined {
  const text = message.trim();
  if (text.startsWith('{') && text.endsWith('}')) {
    try {
      const value = JSON.parse(text) as unknown;
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          out[k] = typeof v === 'string' ? v : JSON.stringify(v);
        }
        return out;
      }
    } catch { /* not JSON after all */ }
    return undefined;
  }
  return parseLogfmt(text);
}

const LOGFMT_PAIR = /([A-Za-z_][A-Za-z0-9_.\-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)/g;

function parseLogfmt(text: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let pairs = 0;
  for (const match of text.matchAll(LOGFMT_PAIR)) {
    const raw = match[2];
    out[match[1]] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    pairs++;
  }
  // One accidental `a=b` in prose is not logfmt; two pairs are.
  return pairs >= 2 ? out : undefined;
}
