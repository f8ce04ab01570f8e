import type { LogBuffer, LogRow, SourceType, StreamRequest } from '../client';

/** What is open, in the page's own address (shareable: the token is never part of it). */
export interface OpenSource { kind: SourceType; host: string; id: string }
export interface QueryState {
  filter: string; exclude: string; levels: string[]; stream: '' | 'stdout' | 'stderr'; since: string; until: string;
}
export interface ViewState { sources: OpenSource[]; query: QueryState }

export const EMPTY_QUERY: QueryState = { filter: '', exclude: '', levels: [], stream: '', since: '', until: '' };

export function sourceKey(s: OpenSource): string { return `${s.kind}:${s.host}:${s.id}`; }

export function parseSourceKey(value: string): OpenSource | undefined {
  const [kind, host, ...rest] = value.split(':');
  const id = rest.join(':');
  if (!['container', 'service', 'stack', 'host', 'daemon'].includes(kind) || !host || !id) return undefined;
  return { kind: kind as SourceType, host, id };
}

export function readViewState(search: string): ViewState {
  const params = new URLSearchParams(search);
  const sources = params.getAll('src').map(parseSourceKey).filter((s): s is OpenSource => !!s);
  return {
    sources,
    query: {
      filter: params.get('filter') ?? '',
      exclude: params.get('exclude') ?? '',
      levels: (params.get('levels') ?? '').split(',').filter(Boolean),
      stream: (params.get('stream') as QueryState['stream']) ?? '',
      since: params.get('since') ?? '',
      until: params.get('until') ?? '',
    },
  };
}

export function writeViewState(state: ViewState): string {
  const params = new URLSearchParams();
  for (const s of state.sources) params.append('src', sourceKey(s));
  const q = state.query;
  if (q.filter) params.set('filter', q.filter);
  if (q.exclude) params.set('exclude', q.exclude);
  if (q.levels.length) params.set('levels', q.levels.join(','));
  if (q.stream) params.set('stream', q.stream);
  if (q.since) params.set('since', q.since);
  if (q.until) params.set('until', q.until);
  // `:` is legal in a query: keep the shared link readable (src=container:local:web-1).
  const text = params.toString().replace(/%3A/gi, ':');
  return text ? `?${text}` : '';
}

/** The stream request of one open source with the shared query; timestamps come from the frame, not the text. */
export function toRequest(s: OpenSource, q: QueryState, tail: number): StreamRequest {
  const resourceId = s.kind === 'host' || s.kind === 'daemon' ? s.host : s.id;
  return {
    sourceType: s.kind, resourceId, hostId: s.host, tail, follow: !q.until, timestamps: false, format: 'batch',
    filter: q.filter || undefined, exclude: q.exclude || undefined, levels: q.levels.length ? q.levels : undefined,
    stream: q.stream || undefined, since: q.since || undefined, until: q.until || undefined,
    // A filtered tail may scan history backwards: ask for the progress frames the banner shows.
    progress: q.filter ? true : undefined,
  };
}

/** A paused view: the rows it shows, the count of rows added when it paused, and per source how many rows older than
 * the shown ones were gone by then. The counts are frozen with the rows: the buffer goes on dropping while paused,
 * but a pane says what is missing before the rows it shows, not before the live ones. */
export interface PausedView { rows: readonly LogRow[]; added: number; droppedFrom: ReadonlyMap<string, number> }

export function pauseView(rows: readonly LogRow[], buffer: Pick<LogBuffer, 'added' | 'droppedFrom'>, keys: readonly string[]): PausedView {
  return { rows: rows.slice(), added: buffer.added, droppedFrom: new Map(keys.map((k) => [k, buffer.droppedFrom(k)])) };
}
