import { memo, useState } from 'react';
import { parseFields, type LogRow } from '../client';
import { highlightSegments } from './highlight';

export interface RowOptions { timestamps: boolean; labels: Map<string, { label: string; colour: number }>; merged: boolean }

function highlighted(message: string, matches: [number, number][] | undefined): React.ReactNode {
  const segments = highlightSegments(message, matches);
  if (segments.length === 1 && !segments[0].mark) return message;
  return segments.map((s, i) => (s.mark ? <mark key={i}>{s.text}</mark> : s.text));
}

/** The replica a service line came from, or the container name in a merged view. */
function replicaOf(row: LogRow): string | undefined {
  const m = row.frame.metadata;
  if (!m) return undefined;
  if (m.service_name && m.replica) return `${m.service_name}.${m.replica}`;
  if (m.task_name) return m.task_name.split('.').slice(0, 2).join('.');
  return undefined;
}

/** In a stack's stream every service gets its own colour, as the sources of a merged view do. */
function colourOf(row: LogRow, sourceColour: number): number {
  const service = row.frame.source_type === 'stack' ? row.frame.metadata?.service_name : undefined;
  if (!service) return sourceColour;
  let hash = 0;
  for (let i = 0; i < service.length; i++) hash = (hash * 31 + service.charCodeAt(i)) >>> 0;
  return hash % 8;
}

export const Row = memo(function Row({ row, options }: { row: LogRow; options: RowOptions }) {
  const [open, setOpen] = useState(false);
  const f = row.frame;
  const source = options.labels.get(row.source);
  if (row.kind !== 'line') {
    const text = row.kind === 'gap'
      ? `${f.gap && f.gap.missed >= 0 ? `${f.gap.missed} lines` : 'An unknown number of lines'} missing (${f.gap?.reason ?? f.metadata?.gap_reason}): ${f.message}`
      : f.message;
    return (
      <div className={`row marker marker-${row.kind}`} data-kind={row.kind} role="row">
        {source && options.merged && <span className={`src c${source.colour}`}>{source.label}</span>}
        <span className="marker-icon" aria-hidden>{row.kind === 'gap' ? '⋯' : 'ⓘ'}</span>
        <span className="msg">{text}</span>
      </div>
    );
  }
  const fields = open ? parseFields(f.message) : undefined;
  // Looked for in the line's head only: a hostile 16 KiB line must not cost a quadratic scan at every render.
  const expandable = open || /^\s*\{|\w=\S.*\s\w+=/.test(f.message.slice(0, 512));
  const replica = replicaOf(row);
  return (
    <div className={`row lvl-${f.level} ${f.stream === 'stderr' ? 'stderr' : ''}`} data-kind="line" role="row">
      {options.timestamps && <time className="ts" dateTime={f.timestamp}>{f.timestamp.slice(0, 23).replace('T', ' ')}</time>}
      {source && (options.merged || replica) && <span className={`src c${colourOf(row, source.colour)}`}>{replica ?? source.label}</span>}
      <span className={`lvl lvl-badge-${f.level}`}>{f.level === 'unknown' ? '' : f.level.slice(0, 4)}</span>
      {f.stream === 'stderr' && <span className="err-mark" title="stderr">err</span>}
      {expandable ? (
        <button className="expand" aria-expanded={open} onClick={() => setOpen(!open)} title="Show the fields">{open ? '▾' : '▸'}</button>
      ) : <span className="expand-space" />}
      <span className="msg">{highlighted(f.message, f.matches)}</span>
      {fields && (
        <dl className="fields">
          {Object.entries(fields).map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}
        </dl>
      )}
    </div>
  );
});
