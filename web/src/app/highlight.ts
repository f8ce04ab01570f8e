/**
 * Splits a line into plain and highlighted parts from the server's `matches` spans ([start, end) UTF-16 offsets).
 * The page never runs the filter itself: a pattern from a shared URL such as `(a+)+$` would backtrack for minutes in
 * the browser's regex engine, while the server matches it in linear time (RegexOptions.NonBacktracking). Spans are
 * taken as untrusted: sorted, clamped to the line, overlaps merged, at most `maxSpans`.
 */
export interface Segment { text: string; mark: boolean }

export function highlightSegments(message: string, matches: readonly (readonly [number, number])[] | undefined, maxSpans = 200): Segment[] {
  if (!matches || matches.length === 0) return [{ text: message, mark: false }];
  const spans = matches
    .filter((m) => Array.isArray(m) && Number.isFinite(m[0]) && Number.isFinite(m[1]))
    .map(([a, b]) => [Math.max(0, Math.min(message.length, Math.trunc(a))), Math.max(0, Math.min(message.length, Math.trunc(b)))] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0])
    .slice(0, maxSpans);
  const merged: [number, number][] = [];
  for (const [start, end] of spans) {
    const last = merged[merged.length - 1];
    if (last && start < last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  const out: Segment[] = [];
  let at = 0;
  for (const [start, end] of merged) {
    if (start > at) out.push({ text: message.slice(at, start), mark: false });
    out.push({ text: message.slice(start, end), mark: true });
    at = end;
  }
  if (at < message.length) out.push({ text: message.slice(at), mark: false });
  return out.length > 0 ? out : [{ text: message, mark: false }];
}
